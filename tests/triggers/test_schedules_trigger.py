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
from tests.triggers.bindings import user_function
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


@pytest.mark.parametrize(
    ("first", "second", "started"),
    [
        ("15:00:10", "15:00:40", "sched-every-minute-20261122T1500Z"),  # the same slot twice
        ("15:00:00", "15:00:00.000001", "sched-every-minute-20261122T1500Z"),  # on the slot itself
        ("15:00:59.9", "15:01:00.1", "sched-every-minute-20261122T1500Z"),  # straddling: the next slot waits
    ],
)
def test_each_tick_starts_the_slot_once(
    first: str, second: str, started: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FakeDurableClient()
    for moment in (first, second):  # the clock is injected: the outcome never depends on when the test runs
        now = datetime.fromisoformat(f"2026-11-22T{moment}+00:00")
        monkeypatch.setattr(schedules, "utcnow", lambda now=now: now)
        fire(client)
    assert client.started == [(DATA_REQUEST_ORCHESTRATOR, started)]
    assert client.queries[0] == {"runtime_status": ["Pending", "Running", "ContinuedAsNew", "Suspended"],
                                 "prefix": "sched-every-minute-"}


def test_the_tick_reads_the_real_clock_by_default() -> None:
    before = datetime.now(UTC)
    assert before <= schedules.utcnow() <= datetime.now(UTC)


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
