"""Activity that finishes a delete: the signed receipt, receipts/{requestId}.json."""

from typing import Any

import azure.durable_functions as df

from dsr.delete import tasks
from dsr.job import Job

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def write_receipt(payload: dict[str, Any]) -> dict[str, Any]:
    return tasks.receipt(Job.open(payload), payload)
