"""Activities of the images category: plan the image sets, export one chunk, merge into images.jsonl."""

from typing import Any

import azure.durable_functions as df

from dsr.export import tasks
from dsr.job import run_task

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def plan_images(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.plan_images)


@bp.activity_trigger(input_name="payload")
def export_image_chunk(payload: dict[str, Any]) -> dict[str, Any]:
    """Fanned out with task_all: reports every failure in its result (retryable or not), never raises."""
    return run_task(payload, tasks.image_chunk, report_transient=True)


@bp.activity_trigger(input_name="payload")
def finalize_images(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.finalize_images)
