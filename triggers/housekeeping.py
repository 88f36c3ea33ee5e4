"""Retention and housekeeping on a timer of its own: expired exports deleted (receipts kept), old history purged."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from dsr.housekeeping import DEFAULT_SCHEDULE, SCHEDULE_SETTING, Retention, run_housekeeping
from dsr.schedules import binding_setting
from dsr.settings import Settings
from dsr.storage import blob_service, export_container
from triggers.orchestrations import list_instances

bp = df.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule=binding_setting(SCHEDULE_SETTING, DEFAULT_SCHEDULE))
@bp.durable_client_input(client_name="client")
async def housekeeping(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Delete exports past EXPORT_RETENTION_DAYS and purge finished history past HISTORY_RETENTION_DAYS."""
    settings = Settings.from_env()
    await run_housekeeping(
        export_container(settings),
        DurableHistory(client),
        now=datetime.now(UTC),
        retention=Retention.from_env(os.environ),
        service=blob_service(settings),
    )


class DurableHistory:
    """The `dsr.housekeeping.History` port: finished instances listed page by page (the continuation
    followed), each purged by id, so no single call has to purge the whole history at once."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def purge_finished(self, created_before: datetime, statuses: tuple[str, ...]) -> int:
        purged = 0
        async for status in list_instances(self._client, statuses=statuses, created_to=created_before):
            if status.instance_id:
                result = await self._client.purge_instance_history(status.instance_id)
                purged += int(result.instances_deleted)
        return purged
