"""Timer schedules (DESIGN.md §3): one scheduler timer starts every named schedule's due slot once."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from dsr.runtime_status import RUNNING_STATUSES
from dsr.schedules import DEFAULT_TICK, SCHEDULES_SETTING, TICK_SETTING, binding_setting, run_schedules
from dsr.settings import Settings
from triggers.orchestrations import DurableOrchestrations, list_instances

bp = df.Blueprint()

STILL_GOING = [OrchestrationRuntimeStatus(status) for status in RUNNING_STATUSES]


@bp.timer_trigger(arg_name="timer", schedule=binding_setting(TICK_SETTING, DEFAULT_TICK))
@bp.durable_client_input(client_name="client")
async def schedule_tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start each schedule's slot that fell due since the last tick (DSR_SCHEDULES)."""
    await run_schedules(
        os.environ.get(SCHEDULES_SETTING),
        settings=Settings.from_env(),
        orchestrations=ScheduledOrchestrations(client),
        now=utcnow(),
        last=last_tick(timer),
        tick=os.environ.get(TICK_SETTING) or DEFAULT_TICK,
    )


def utcnow() -> datetime:
    """The tick's clock; tests replace it to tick at a chosen instant."""
    return datetime.now(UTC)


class ScheduledOrchestrations(DurableOrchestrations):
    """The intake adapter plus the instances still going under an id prefix."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        super().__init__(client)
        self._durable = client

    async def running_ids(self, prefix: str) -> list[str]:
        """Every page, not only the first 100 (the SDK's get_status_by stops there)."""
        found = list_instances(self._durable, statuses=[s.value for s in STILL_GOING], prefix=prefix)
        return [s.instance_id async for s in found if s.instance_id]


def last_tick(timer: func.TimerRequest) -> datetime | None:
    """When the timer last fired, from its schedule status (None when the host has no record)."""
    status: Any = getattr(timer, "schedule_status", None)
    raw = status.get("Last") if isinstance(status, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.year < 2000:  # the host reports DateTime.MinValue before the first run
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
