"""Activities of the account category (ARM): export its properties, or delete and purge it."""

from typing import Any

import azure.durable_functions as df

from dsr.delete import tasks as delete_tasks
from dsr.export import tasks
from dsr.job import run_task

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def export_account(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, tasks.account)


@bp.activity_trigger(input_name="payload")
def delete_account(payload: dict[str, Any]) -> dict[str, Any]:
    return run_task(payload, delete_tasks.account)
