"""Timer schedules in plain code: validation naming schedule and field, one run per slot, skip while running."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from dsr.schedules import (
    DEFAULT_TICK,
    MAX_CATCH_UP,
    Fired,
    RequestSchedule,
    binding_setting,
    load_schedules,
    run_schedules,
    window_start,
)
from dsr.settings import ResourceConfig, Settings

SETTINGS = Settings(resources={"default": ResourceConfig(alias="default", endpoint="http://127.0.0.1:1")})
WEEKLY = {"name": "weekly-export", "schedule": "0 0 3 * * 1", "request": {"operation": "export", "resource": "default"}}
NIGHTLY = {
    "name": "nightly-predictions",
    "schedule": "0 30 1 * * *",
    "request": {"operation": "delete", "resource": "default", "confirm": "default", "categories": ["predictions"],
                "predictionsOlderThanDays": 30},
}
MONDAY_3AM = datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)  # a Monday


class FakeOrchestrations:
    """Instances in a dict with runtime statuses; records every start."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.started: list[tuple[str, Any]] = []
        self.fail_for: set[str] = set()

    async def status(self, instance_id: str) -> dict[str, Any] | None:
        return self.instances.get(instance_id)

    async def start(self, instance_id: str, orchestration_input: Any) -> None:
        if any(instance_id.startswith(prefix) for prefix in self.fail_for):
            raise ConnectionError("task hub unavailable")
        self.started.append((instance_id, orchestration_input))
        self.instances[instance_id] = {"instanceId": instance_id, "runtimeStatus": "Running",
                                       "input": json.loads(json.dumps(orchestration_input))}

    async def terminate(self, instance_id: str, reason: str) -> None:  # pragma: no cover - not used here
        raise AssertionError

    async def running_ids(self, prefix: str) -> list[str]:
        return [i for i, s in self.instances.items()
                if i.startswith(prefix) and s["runtimeStatus"] in ("Pending", "Running")]

    def finish(self, instance_id: str) -> None:
        self.instances[instance_id]["runtimeStatus"] = "Completed"


def tick(schedules: list[Any], orchestrations: FakeOrchestrations, now: datetime, **kwargs: Any) -> dict[str, Fired]:
    return asyncio.run(run_schedules(json.dumps(schedules), settings=SETTINGS, orchestrations=orchestrations,
                                     now=now, **kwargs))


# --- validation ------------------------------------------------------------------------------------


def test_valid_schedules_load() -> None:
    schedules, errors = load_schedules(json.dumps([WEEKLY, NIGHTLY]), SETTINGS)
    assert errors == []
    assert [s.name for s in schedules] == ["weekly-export", "nightly-predictions"]


@pytest.mark.parametrize("raw", [None, "", "[]"])
def test_no_schedules(raw: str | None) -> None:
    assert load_schedules(raw, SETTINGS) == ([], [])


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({**WEEKLY, "schedule": "0 3 * * 1"}, "DSR_SCHEDULES[0] ('weekly-export'): /schedule: must be a 6-field"),
        ({**WEEKLY, "schedule": "0 0 25 * * *"}, "/schedule: '0 0 25 * * *' is not a valid NCRONTAB"),
        ({**WEEKLY, "schedule": "*/30 * * * * *"}, "/schedule: the seconds field must be a single number"),
        ({**WEEKLY, "schedule": 5}, "/schedule: must be a 6-field"),
        ({**WEEKLY, "name": "has space"}, "/name: must be 1-40 letters"),
        ({**WEEKLY, "name": "x" * 41}, "/name: must be 1-40 letters"),
        ({k: v for k, v in WEEKLY.items() if k != "name"}, "DSR_SCHEDULES[0]: /name:"),
        ({**WEEKLY, "cron": "x"}, "/cron: unknown field"),
        ({**WEEKLY, "request": "export"}, "/request: must be a request body"),
        ({**WEEKLY, "request": {**WEEKLY["request"], "requestId": "x"}}, "/request/requestId: not allowed"),
        ({**NIGHTLY, "request": {**NIGHTLY["request"], "confirm": "other"}}, "/request/confirm: must equal"),
        ({**WEEKLY, "request": {"operation": "export", "resource": "nope"}}, "/request/resource: 'nope' is not"),
        ({**WEEKLY, "request": {"operation": "export", "predictionsOlderThanDays": 3}},
         "/request/predictionsOlderThanDays: only allowed when operation is delete"),
        ("weekly", "DSR_SCHEDULES[0]: must be an object"),
    ],
)
def test_bad_schedule_is_named_with_its_field(entry: Any, expected: str) -> None:
    schedules, errors = load_schedules(json.dumps([entry]), SETTINGS)
    assert schedules == []
    assert len(errors) == 1 and expected in str(errors[0]), str(errors[0])


@pytest.mark.parametrize(("raw", "expected"), [("{", "not valid JSON"), ('{"a": 1}', "must be a JSON list")])
def test_bad_setting(raw: str, expected: str) -> None:
    schedules, errors = load_schedules(raw, SETTINGS)
    assert schedules == [] and expected in str(errors[0]) and "DSR_SCHEDULES" in str(errors[0])


def test_duplicate_names_keep_the_first() -> None:
    schedules, errors = load_schedules(json.dumps([WEEKLY, {**WEEKLY, "schedule": "0 0 4 * * *"}]), SETTINGS)
    assert [s.expression for s in schedules] == ["0 0 3 * * 1"]
    assert "DSR_SCHEDULES[1] ('weekly-export'): /name: duplicate" in str(errors[0])


def test_a_bad_schedule_never_starts_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    orchestrations = FakeOrchestrations()
    bad = {**WEEKLY, "name": "broken", "request": {"operation": "delete"}}  # no confirm: never a run
    with caplog.at_level(logging.ERROR, logger="dsr.schedules"):
        fired = tick([bad, WEEKLY], orchestrations, MONDAY_3AM)
    assert fired == {"weekly-export": Fired.STARTED}
    assert [i for i, _ in orchestrations.started] == ["sched-weekly-export-20261123T0300Z"]
    assert "DSR_SCHEDULES[0] ('broken'): /request/confirm" in caplog.text


# --- slots -----------------------------------------------------------------------------------------


def test_slot_ids_are_deterministic_minutes_in_utc() -> None:
    schedule = RequestSchedule(name="weekly-export", expression="0 0 3 * * 1", request={})
    local = MONDAY_3AM.astimezone(timezone(timedelta(hours=2)))
    assert schedule.slot_id(MONDAY_3AM) == schedule.slot_id(local) == "sched-weekly-export-20261123T0300Z"
    assert len(RequestSchedule(name="n" * 40, expression="", request={}).slot_id(MONDAY_3AM)) <= 64


def test_due_slot_is_the_newest_in_the_window() -> None:
    schedule = RequestSchedule(name="s", expression="0 0 3 * * 1", request={})
    assert schedule.due_slot(since=MONDAY_3AM - timedelta(minutes=1), now=MONDAY_3AM) == MONDAY_3AM
    assert schedule.due_slot(since=MONDAY_3AM - timedelta(minutes=1), now=MONDAY_3AM + timedelta(seconds=7)) \
        == MONDAY_3AM
    assert schedule.due_slot(since=MONDAY_3AM, now=MONDAY_3AM + timedelta(minutes=1)) is None
    assert schedule.due_slot(since=MONDAY_3AM - timedelta(minutes=2), now=MONDAY_3AM - timedelta(minutes=1)) is None
    # in the last second before the next slot, the current slot is still the one due (not "none")
    every_minute = RequestSchedule(name="m", expression="0 * * * * *", request={})
    late = MONDAY_3AM + timedelta(seconds=59, milliseconds=900)
    assert every_minute.due_slot(since=late - timedelta(minutes=1), now=late) == MONDAY_3AM


def test_window_is_one_tick_back_or_the_last_tick_after_downtime() -> None:
    assert window_start(MONDAY_3AM, last=None, tick=DEFAULT_TICK) == MONDAY_3AM - timedelta(minutes=1)
    assert window_start(MONDAY_3AM, last=MONDAY_3AM, tick=DEFAULT_TICK) == MONDAY_3AM - timedelta(minutes=1)
    after_downtime = MONDAY_3AM - timedelta(hours=5)
    assert window_start(MONDAY_3AM, last=after_downtime, tick=DEFAULT_TICK) == after_downtime
    assert window_start(MONDAY_3AM, last=MONDAY_3AM - timedelta(days=9), tick=DEFAULT_TICK) == MONDAY_3AM - MAX_CATCH_UP
    assert window_start(MONDAY_3AM, last=None, tick="0 0 * * * *") == MONDAY_3AM - timedelta(hours=1)


# --- firing ----------------------------------------------------------------------------------------


def test_a_schedule_fires_at_its_slot_with_its_request() -> None:
    orchestrations = FakeOrchestrations()
    assert tick([WEEKLY], orchestrations, MONDAY_3AM - timedelta(minutes=1)) == {"weekly-export": Fired.NOT_DUE}
    assert tick([WEEKLY], orchestrations, MONDAY_3AM) == {"weekly-export": Fired.STARTED}
    (instance_id, started), = orchestrations.started
    assert instance_id == "sched-weekly-export-20261123T0300Z"
    assert started["request"]["requestId"] == instance_id
    assert started["request"]["operation"] == "export" and started["request"]["resource"] == "default"
    assert started["receivedAt"] == "2026-11-23T03:00:00.000Z"


def test_the_timer_firing_twice_for_a_slot_starts_one_run() -> None:
    orchestrations = FakeOrchestrations()
    first = tick([WEEKLY], orchestrations, MONDAY_3AM)
    again = tick([WEEKLY], orchestrations, MONDAY_3AM + timedelta(seconds=20))  # a second host, a late tick
    orchestrations.finish("sched-weekly-export-20261123T0300Z")
    after_finish = tick([WEEKLY], orchestrations, MONDAY_3AM + timedelta(seconds=40))  # a restart re-fires it
    assert (first, again, after_finish) == ({"weekly-export": Fired.STARTED}, {"weekly-export": Fired.EXISTING},
                                            {"weekly-export": Fired.EXISTING})
    assert len(orchestrations.started) == 1


def test_a_slot_is_skipped_while_the_previous_run_is_still_going(caplog: pytest.LogCaptureFixture) -> None:
    orchestrations = FakeOrchestrations()
    every_hour = {"name": "hourly", "schedule": "0 0 * * * *", "request": {"operation": "export"}}
    tick([every_hour], orchestrations, MONDAY_3AM)
    with caplog.at_level(logging.WARNING, logger="dsr.schedules"):
        skipped = tick([every_hour], orchestrations, MONDAY_3AM + timedelta(hours=1))
    assert skipped == {"hourly": Fired.SKIPPED}
    assert "slot sched-hourly-20261123T0400Z skipped, previous run sched-hourly-20261123T0300Z" in caplog.text
    orchestrations.finish("sched-hourly-20261123T0300Z")
    assert tick([every_hour], orchestrations, MONDAY_3AM + timedelta(hours=2)) == {"hourly": Fired.STARTED}
    assert [i for i, _ in orchestrations.started] == ["sched-hourly-20261123T0300Z", "sched-hourly-20261123T0500Z"]


def test_a_schedule_whose_name_extends_another_is_not_its_previous_run() -> None:
    orchestrations = FakeOrchestrations()
    a = {"name": "a", "schedule": "0 0 3 * * *", "request": {"operation": "export"}}
    a_b = {"name": "a-b", "schedule": "0 0 3 * * *", "request": {"operation": "export"}}
    assert tick([a_b, a], orchestrations, MONDAY_3AM) == {"a-b": Fired.STARTED, "a": Fired.STARTED}


def test_nightly_predictions_retention_carries_the_age_filter() -> None:
    orchestrations = FakeOrchestrations()
    tick([NIGHTLY], orchestrations, datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
    (instance_id, started), = orchestrations.started
    assert instance_id == "sched-nightly-predictions-20261123T0130Z"
    assert started["request"]["predictionsOlderThanDays"] == 30
    assert started["request"]["categories"] == ["predictions"] and started["request"]["confirm"] == "default"


def test_a_changed_template_does_not_restart_a_slot() -> None:
    orchestrations = FakeOrchestrations()
    tick([WEEKLY], orchestrations, MONDAY_3AM)
    changed = {**WEEKLY, "request": {"operation": "export", "categories": ["tags"]}}
    assert tick([changed], orchestrations, MONDAY_3AM + timedelta(seconds=5)) == {"weekly-export": Fired.CONFLICT}
    assert len(orchestrations.started) == 1


def test_a_failed_start_is_reported_and_the_others_still_start(caplog: pytest.LogCaptureFixture) -> None:
    orchestrations = FakeOrchestrations()
    orchestrations.fail_for = {"sched-weekly-export-"}
    monday_130 = {**NIGHTLY, "schedule": "0 0 3 * * *"}
    with caplog.at_level(logging.ERROR, logger="dsr.schedules"):
        fired = tick([WEEKLY, monday_130], orchestrations, MONDAY_3AM)
    assert fired == {"weekly-export": Fired.FAILED, "nightly-predictions": Fired.STARTED}
    assert "schedule weekly-export: could not start its slot (ConnectionError" in caplog.text
    orchestrations.fail_for = set()
    assert tick([WEEKLY], orchestrations, MONDAY_3AM + timedelta(seconds=30)) == {"weekly-export": Fired.STARTED}


def test_catch_up_after_downtime_runs_only_the_newest_missed_slot() -> None:
    orchestrations = FakeOrchestrations()
    hourly = {"name": "hourly", "schedule": "0 0 * * * *", "request": {"operation": "export"}}
    now = MONDAY_3AM + timedelta(minutes=10)
    assert tick([hourly], orchestrations, now, last=MONDAY_3AM - timedelta(hours=4)) == {"hourly": Fired.STARTED}
    assert [i for i, _ in orchestrations.started] == ["sched-hourly-20261123T0300Z"]


# --- binding settings ------------------------------------------------------------------------------


def test_binding_setting_refers_to_a_set_setting_and_falls_back_to_the_default() -> None:
    assert binding_setting("SCHEDULER_TICK", DEFAULT_TICK, {"SCHEDULER_TICK": "0 0 * * * *"}) == "%SCHEDULER_TICK%"
    assert binding_setting("SCHEDULER_TICK", DEFAULT_TICK, {"SCHEDULER_TICK": ""}) == DEFAULT_TICK
    assert binding_setting("SCHEDULER_TICK", DEFAULT_TICK, {}) == DEFAULT_TICK
