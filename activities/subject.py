"""Activities of a subject request: find a person in a project, erase them step by step, verify, and finish
(export report and manifest, dry-run plan, signed receipt). Images and predictions are exported by the
whole-project activities, which list only the subject's when their payload names a subject."""

from typing import Any

import azure.durable_functions as df

from dsr.job import run_task
from dsr.subject import tasks

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def find_subject(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.find)


@bp.activity_trigger(input_name="payload")
def erase_subject_step(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.erase)


@bp.activity_trigger(input_name="payload")
def verify_subject(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.verify)


@bp.activity_trigger(input_name="payload")
def export_subject_project(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.holders)


@bp.activity_trigger(input_name="payload")
def write_subject_export(payload: dict[str, Any]) -> dict[str, Any]:
    """The search report, index.html and the signed manifest (last)."""
    return tasks.finish_export(payload)


@bp.activity_trigger(input_name="payload")
def write_subject_plan(payload: dict[str, Any]) -> dict[str, Any]:
    """A dry run's plan, `{requestId}/delete-plan.json`: every match and the models it would affect."""
    return tasks.finish_plan(payload)


@bp.activity_trigger(input_name="payload")
def write_subject_receipt(payload: dict[str, Any]) -> dict[str, Any]:
    """The signed receipt: per resource and project, before and after, and the models trained on the images."""
    return tasks.finish_delete(payload)
