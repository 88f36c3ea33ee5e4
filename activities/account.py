"""Activity of the account category (ARM)."""

from typing import Any

import azure.durable_functions as df

from dsr.export import tasks
from dsr.export.job import run_task

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def export_account(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.account)
