"""Activities of the predictions category: chunks along the query's continuation token, then one file."""

from typing import Any

import azure.durable_functions as df

from dsr.export import tasks
from dsr.job import run_task

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def export_prediction_chunk(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.prediction_chunk)


@bp.activity_trigger(input_name="payload")
def finalize_predictions(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.finalize_predictions)
