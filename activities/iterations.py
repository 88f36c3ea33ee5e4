"""Activity of the iterations and iteration_performance categories (one file per iteration holds both)."""

from typing import Any

import azure.durable_functions as df

from dsr.export import tasks
from dsr.job import run_task

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def export_iterations(payload: dict[str, Any]) -> dict[str, Any]:
    """One result per requested category, keyed by category."""
    return run_task(payload, tasks.iterations, categories=payload["categories"])
