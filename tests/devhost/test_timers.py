"""Timer triggers as the Functions host runs them.

- NCRONTAB (the host's parser): a date matches only when day-of-month AND day-of-week both match
  (NCrontab CrontabSchedule.GetNextOccurrence checks `_daysOfWeek.Contains(nextTime.DayOfWeek)` after the
  day), unlike Vixie cron's OR, which croniter follows by default.
- The schedule monitor (`useMonitor`, on by default for schedules of a minute or more) keeps each timer's
  Last/Next; a host that starts after a missed occurrence runs the function once at once, IsPastDue true.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.functions.timer import TimerRequest

from devhost.indexer import FunctionInfo
from devhost.timers import ScheduleMonitor, TimerSchedule, run_timer
from dsr.schedules import RequestSchedule


def info(schedule: str, **trigger: Any) -> FunctionInfo:
    return FunctionInfo("tick", "timer", lambda timer: None, {"type": "timerTrigger", "name": "timer",
                                                              "schedule": schedule, **trigger}, [])


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    friday_13th = "0 0 0 13 * 5"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert TimerSchedule(friday_13th).next_after(start) == datetime(2026, 2, 13, tzinfo=UTC)  # not Friday Jan 2
    slot = RequestSchedule("f13", friday_13th, {}).due_slot(since=start, now=datetime(2026, 1, 31, tzinfo=UTC))
    assert slot is None  # the scheduler found no slot in January (Jan 2 is a Friday, Jan 13 a Tuesday)
    assert RequestSchedule("f13", friday_13th, {}).due_slot(
        since=start, now=datetime(2026, 2, 14, tzinfo=UTC)) == datetime(2026, 2, 13, tzinfo=UTC)


def run_until_fired(timer: FunctionInfo, monitor: ScheduleMonitor, *, count: int = 1) -> list[TimerRequest]:
    fired: list[TimerRequest] = []

    async def fire(request: TimerRequest) -> None:
        fired.append(request)

    async def main() -> None:
        task = asyncio.create_task(run_timer(timer, fire, monitor=monitor))
        for _ in range(300):
            if len(fired) >= count:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    return fired


def test_a_missed_occurrence_runs_once_at_start_as_past_due(tmp_path: Path) -> None:
    last = datetime.now(UTC) - timedelta(days=2)
    monitor = ScheduleMonitor(tmp_path / "timers")
    monitor.save("tick", last=last, next_=last + timedelta(days=1))  # the host was down when it fell due
    (request,) = run_until_fired(info("0 30 2 * * *"), monitor)
    assert request.past_due is True
    assert datetime.fromisoformat(request.schedule_status["Last"]) == last
    saved = json.loads((tmp_path / "timers" / "tick.json").read_text())
    assert datetime.fromisoformat(saved["Next"]) > datetime.now(UTC)  # the next occurrence, monitored again


def test_no_past_due_run_without_the_monitor(tmp_path: Path) -> None:
    last = datetime.now(UTC) - timedelta(days=2)
    monitor = ScheduleMonitor(tmp_path / "timers")
    monitor.save("tick", last=last, next_=last + timedelta(days=1))
    assert run_until_fired(info("0 30 2 * * *", useMonitor=False), monitor) == []
    monitor.save("fast", last=last, next_=last + timedelta(seconds=5))
    fast = FunctionInfo("fast", "timer", lambda timer: None,
                        {"type": "timerTrigger", "name": "timer", "schedule": "0 0 0 1 1 *"}, [])
    assert run_until_fired(fast, monitor)[0].past_due  # a daily-or-slower schedule is monitored by default
    every_second = FunctionInfo("sub", "timer", lambda timer: None,
                                {"type": "timerTrigger", "name": "timer", "schedule": "*/30 * * * * *"}, [])
    monitor.save("sub", last=last, next_=last + timedelta(seconds=30))
    fired = run_until_fired(every_second, monitor)
    assert not fired or not fired[0].past_due  # under a minute: not monitored, no catch-up run


def test_the_monitor_keeps_last_and_next_after_each_run(tmp_path: Path) -> None:
    monitor = ScheduleMonitor(tmp_path / "timers")
    run_until_fired(info("*/1 * * * * *", useMonitor=True), monitor, count=1)
    status = monitor.load("tick")
    assert status is not None and status["Next"] > status["Last"]
