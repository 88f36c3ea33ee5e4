"""Timer triggers on their NCRONTAB (6-field, seconds first) or TimeSpan schedules, in UTC, as the host runs them.

NCRONTAB matches a date only when day-of-month AND day-of-week both match (NCrontab's GetNextOccurrence),
not cron's OR. The schedule monitor (`useMonitor`, default on for schedules of a minute or more) keeps each
timer's Last/Next (on Azure in AzureWebJobsStorage, here in `<state-dir>/timers/`); a host starting after a
missed occurrence runs the function once at once with IsPastDue true.

A timer runs on one instance of a scaled-out app at a time: the host starts its listener only while it holds the
function's singleton listener lock (`{function}.Listener`, a blob lease in AzureWebJobsStorage; SingletonOptions:
`listenerLockPeriod` 60 s, retried every `listenerLockRecoveryPollingInterval`, 1 min). `run_singleton` does the
same with a lock in the task hub, so every devhost process on a state dir may start and only one fires each timer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.functions.timer import TimerRequest
from croniter import croniter

from devhost.config import resolve_setting
from devhost.indexer import FunctionInfo

log = logging.getLogger("devhost.timers")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")


class TimerScheduleError(ValueError):
    """A schedule devhost cannot parse."""


class TimerSchedule:
    """Next occurrences of an NCRONTAB expression or a fixed TimeSpan interval."""

    def __init__(self, expression: str):
        self.expression = expression
        span = _TIMESPAN.match(expression)
        self.interval: timedelta | None = None
        if span:
            days, hours, minutes, seconds = (int(g or 0) for g in span.groups())
            self.interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
            if self.interval <= timedelta(0):
                raise TimerScheduleError(f"timer interval must be positive: {expression!r}")
            return
        fields = expression.split()
        six = len(fields) == 6
        if len(fields) not in (5, 6) or not croniter.is_valid(expression, second_at_beginning=six):
            raise TimerScheduleError(f"invalid NCRONTAB expression {expression!r}")

    def next_after(self, moment: datetime) -> datetime:
        if self.interval is not None:
            return moment + self.interval
        six = len(self.expression.split()) == 6
        return croniter(self.expression, moment, second_at_beginning=six, day_or=False).get_next(datetime)

    def monitored_by_default(self, now: datetime) -> bool:
        """The host monitors schedules that recur once a minute or less often."""
        first = self.next_after(now)
        return self.next_after(first) - first >= timedelta(minutes=1)


class ScheduleMonitor:
    """Each timer's schedule status (Last, Next, LastUpdated) in one JSON file, as the host's status blobs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self, name: str) -> dict[str, datetime] | None:
        path = self.directory / f"{name}.json"
        try:
            raw = json.loads(path.read_text())
            return {k: datetime.fromisoformat(raw[k]) for k in ("Last", "Next", "LastUpdated")}
        except (OSError, ValueError, KeyError):
            return None

    def save(self, name: str, *, last: datetime, next_: datetime) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        status = {"Last": last.isoformat(), "Next": next_.isoformat(), "LastUpdated": datetime.now(UTC).isoformat()}
        temporary = self.directory / f".{name}.json.tmp"
        temporary.write_text(json.dumps(status))
        temporary.replace(self.directory / f"{name}.json")


def schedule_of(info: FunctionInfo) -> TimerSchedule:
    return TimerSchedule(resolve_setting(str(info.trigger["schedule"])))


def timer_request(info: FunctionInfo, *, past_due: bool, last: datetime | None = None,
                  upcoming: datetime | None = None) -> TimerRequest:
    """The TimerRequest the worker passes a timer function."""
    now = datetime.now(UTC)
    status = {"Last": (last or now).isoformat(), "Next": (upcoming or now).isoformat(), "LastUpdated": now.isoformat()}
    return TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})


async def run_timer(info: FunctionInfo, fire: Callable[[TimerRequest], Awaitable[Any]], *,
                    monitor: ScheduleMonitor | None = None) -> None:
    """Fire `info` on its schedule forever (one invocation at a time, like a singleton host); with a monitor,
    first run a missed occurrence once, past due, and keep Last/Next after every run."""
    schedule = schedule_of(info)
    use_monitor = info.trigger.get("useMonitor")
    if use_monitor is None:
        use_monitor = schedule.monitored_by_default(datetime.now(UTC))
    monitor = monitor if use_monitor else None
    status = monitor.load(info.name) if monitor else None
    last: datetime | None = status["Last"] if status else None
    if status is not None and status["Next"] < datetime.now(UTC):  # missed while the host was down
        upcoming = schedule.next_after(datetime.now(UTC))
        await _fire(info, fire, timer_request(info, past_due=True, last=last, upcoming=upcoming))
        last = datetime.now(UTC)
        _record(monitor, info, last, upcoming)
    elif info.trigger.get("runOnStartup"):
        last = datetime.now(UTC)
        await _fire(info, fire, timer_request(info, past_due=False, last=last))
    due = schedule.next_after(datetime.now(UTC))
    _record(monitor, info, last or datetime.now(UTC), due)
    while True:
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        now = datetime.now(UTC)
        upcoming = schedule.next_after(max(now, due))
        await _fire(info, fire, timer_request(info, past_due=(now - due) > timedelta(seconds=1), last=last or due,
                                              upcoming=upcoming))
        last, due = due, schedule.next_after(max(datetime.now(UTC), due))
        _record(monitor, info, last, due)


async def run_singleton(name: str, run: Callable[[], Awaitable[Any]], *, acquire: Callable[[], Awaitable[bool]],
                        release: Callable[[], Awaitable[None]], interval: float) -> None:
    """Run `run()` only while this worker holds the singleton lock `name`: try to take it every `interval` seconds,
    renew it as often while `run()` runs, stop `run()` if the lock is lost, and release it when `run()` ends or this
    is cancelled (a graceful stop)."""
    held = False
    listener: asyncio.Task[Any] | None = None
    try:
        while True:
            held = await _try(acquire, name)
            if not held:
                await asyncio.sleep(interval)
                continue
            log.info("acquired the singleton lock %s: this worker runs it", name)
            listener = asyncio.create_task(run())
            while held and not listener.done():
                await asyncio.wait([listener], timeout=interval)
                if not listener.done():
                    held = await _try(acquire, name)
            if listener.done():  # it never ends on its own unless it failed; the lock is released below
                if not listener.cancelled() and listener.exception() is not None:
                    log.error("the listener under %s failed", name, exc_info=listener.exception())
                return
            log.warning("lost the singleton lock %s: another worker runs it now", name)
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
    finally:
        if listener is not None and not listener.done():
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        if held:
            await release()


async def _try(acquire: Callable[[], Awaitable[bool]], name: str) -> bool:
    try:
        return await acquire()
    except Exception:  # the store was busy or failed: count as not held, as a lease that could not be renewed
        log.exception("could not take or renew the singleton lock %s", name)
        return False


def _record(monitor: ScheduleMonitor | None, info: FunctionInfo, last: datetime, upcoming: datetime) -> None:
    if monitor is not None:
        try:
            monitor.save(info.name, last=last, next_=upcoming)
        except OSError:
            log.exception("could not keep the schedule status of %s", info.name)


async def _fire(info: FunctionInfo, fire: Callable[[TimerRequest], Awaitable[Any]],
                request: TimerRequest) -> None:
    try:
        await fire(request)
    except Exception:
        log.exception("timer function %s failed", info.name)
