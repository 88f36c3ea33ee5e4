"""The scheduler timer through its decorated function: a real TimerRequest, a fake Durable client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.functions.timer import TimerRequest

from dsr.names import DATA_REQUEST_ORCHESTRATOR
from triggers import schedules

SCHEDULES = [{"name": "every-minute", "schedule": "0 * * * * *", "request": {"operation": "export"}}]


class FakeDurableClient:
    """start_new / get_status / get_status_by, instances in a dict."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.started: list[tuple[str, str | None]] = []
        self.queries: list[dict[str, Any]] = []

    async def start_new(self, name: str, instance_id: str | None = None, client_input: Any = None) -> str:
        assert instance_id is not None
        self.started.append((name, instance_id))
        self.instances[instance_id] = {"name": name, "instanceId": instance_id, "runtimeStatus": "Running",
                                       "createdTime": "2026-11-22T15:00:00Z", "input": json.dumps(client_input)}
        return instance_id

    async def get_status(self, instance_id: str, show_input: bool = False, **_: Any) -> DurableOrchestrationStatus:
        found = self.instances.get(instance_id)
        return DurableOrchestrationStatus.from_json(dict(found) if found else "")

    async def list_instances(self, statuses: Any = (), prefix: str | None = None,
                             **_: Any) -> AsyncIterator[DurableOrchestrationStatus]:
        """Stands in for triggers.orchestrations.list_instances (the paged management API)."""
        self.queries.append({"runtime_status": list(statuses), "prefix": prefix})
        for i, s in self.instances.items():
            if i.startswith(prefix or "") and s["runtimeStatus"] in statuses:
                yield DurableOrchestrationStatus.from_json(s)


def user_function(function: Any) -> Any:
    code = function.build().get_user_function()
    return getattr(code, "client_function", code)


def fire(client: FakeDurableClient, last: str | None = None) -> None:
    status = {"Last": last, "Next": "", "LastUpdated": ""} if last else {}
    timer = TimerRequest(past_due=False, schedule_status=status, schedule={"AdjustForDST": True})
    asyncio.run(user_function(schedules.schedule_tick)(timer=timer, client=client))


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedules, "list_instances", lambda client, **query: client.list_instances(**query))
    monkeypatch.setenv("CUSTOMVISION_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("DSR_SCHEDULES", json.dumps(SCHEDULES))
    monkeypatch.delenv("SCHEDULER_TICK", raising=False)


def test_timer_binding_uses_the_tick_setting_or_every_minute() -> None:
    bindings = json.loads(schedules.schedule_tick.build().get_function_json())["bindings"]
    timer = next(b for b in bindings if b["type"] == "timerTrigger")
    assert timer["name"] == "timer" and timer["schedule"] in ("0 */1 * * * *", "%SCHEDULER_TICK%")


def test_each_tick_starts_the_slot_once() -> None:
    client = FakeDurableClient()
    fire(client)
    fire(client)  # the same slot again: the run exists (or, past a minute, the next slot waits for it)
    (name, instance_id), = client.started
    assert name == DATA_REQUEST_ORCHESTRATOR and instance_id.startswith("sched-every-minute-")
    assert client.queries[0] == {"runtime_status": ["Pending", "Running", "ContinuedAsNew", "Suspended"],
                                 "prefix": "sched-every-minute-"}


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        ("2026-11-22T15:00:00+00:00", datetime(2026, 11, 22, 15, 0, tzinfo=UTC)),
        ("2026-11-22T15:00:00Z", datetime(2026, 11, 22, 15, 0, tzinfo=UTC)),
        ("2026-11-22T15:00:00", datetime(2026, 11, 22, 15, 0, tzinfo=UTC)),
        ("0001-01-01T00:00:00", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_last_tick_from_the_schedule_status(last: str | None, expected: datetime | None) -> None:
    timer = TimerRequest(past_due=False, schedule_status={"Last": last} if last else {}, schedule={})
    assert schedules.last_tick(timer) == expected
