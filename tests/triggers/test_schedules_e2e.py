"""The scheduler timer end to end through devhost: fired twice for the same slot, it starts one run."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from localrun.azurite import Azurite
from localrun.devhost import Devhost
from tests.e2e.helpers import app_env
from tests.fixtures.devhost import DevhostFactory, app_with_scheduler_clock
from tests.fixtures.emulator import EmulatorFactory

pytestmark = pytest.mark.e2e
FUNCTION = "schedule_tick"
DAILY = {"name": "daily-export", "schedule": "0 0 0 * * *", "request": {"operation": "export", "categories": ["tags"]}}
BROKEN = {"name": "broken", "schedule": "0 0 0 * * *", "request": {"operation": "delete"}}  # no confirm


NOW = datetime(2026, 6, 15, 12, 34, 56, tzinfo=UTC)  # the scheduler's clock in this test: never near midnight
SLOT = "sched-daily-export-20260615T0000Z"


@pytest.fixture
def host(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite, tmp_path: Path
) -> Devhost:
    emulator = emulator_factory("demo", tps=1000)
    env = {
        **app_env(emulator, azurite, "schedules-e2e"),
        "DSR_SCHEDULES": json.dumps([BROKEN, DAILY]),
        "SCHEDULER_TICK": "0 0 0 * * *",  # a daily tick: its window is the last day, and devhost fires it at midnight
    }
    return devhost_factory(app_with_scheduler_clock(tmp_path / "app", NOW), env=env)


def wait_for_ticks(host: Devhost, count: int, *, timeout: float = 60) -> str:
    """Poll devhost's log until `count` ticks have finished (admin invocations run in the background)."""
    assert host.log_path is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = host.log_path.read_text(encoding="utf-8", errors="replace")
        if text.count(f"Executed 'Functions.{FUNCTION}' (Succeeded") >= count:
            return text
        time.sleep(0.1)
    raise TimeoutError(f"fewer than {count} ticks finished")


def test_the_timer_firing_twice_for_a_slot_starts_one_run(host: Devhost) -> None:
    assert host.invoke(FUNCTION, {}).status_code == 202
    wait_for_ticks(host, 1)
    assert host.invoke(FUNCTION, {}).status_code == 202  # the same slot again (a second host, a restart)
    text = wait_for_ticks(host, 2)

    listing = host.get("runtime/webhooks/durabletask/instances", params={"instanceIdPrefix": "sched-"}).json()
    runs = [i["instanceId"] for i in listing if ":" not in i["instanceId"]]  # not sub-orchestrations
    assert runs == [SLOT]
    run = runs[0]
    assert re.search(rf"schedule daily-export: slot {run} already started; nothing to do", text)
    assert "DSR_SCHEDULES[0] ('broken'): /request/confirm" in text  # named, and never started

    status = wait_done(host, run)
    assert status["runtimeStatus"] == "Completed", status
    assert [e["EventType"] for e in status["historyEvents"]].count("ExecutionStarted") == 1
    started = status["input"] if isinstance(status["input"], dict) else json.loads(status["input"])
    assert started["request"]["requestId"] == run


def wait_done(host: Devhost, instance_id: str, *, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = host.get(f"runtime/webhooks/durabletask/instances/{instance_id}",
                          params={"showHistory": "true", "showInput": "true"}).json()
        if status["runtimeStatus"] in ("Completed", "Failed", "Terminated") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)
