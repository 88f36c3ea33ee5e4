"""Activities of a delete, per project: plan (counts before), one bounded step, verification (counts after)."""

from typing import Any

import azure.durable_functions as df

from dsr.delete import tasks
from dsr.job import run_task

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def plan_delete_project(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.plan)


@bp.activity_trigger(input_name="payload")
def run_delete_step(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.step)


@bp.activity_trigger(input_name="payload")
def verify_delete_project(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.verify)


@bp.activity_trigger(input_name="payload")
def write_delete_plan(payload: dict[str, Any]) -> dict[str, Any]:
    """A dry run's per-project plan to `{requestId}/delete-plan.json` (the output only points to it)."""
    return run_task(payload, tasks.write_plan)
