"""Activity of the tags category."""

from typing import Any

import azure.durable_functions as df

from dsr.export import tasks
from dsr.job import run_task

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def export_tags(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.tags)
