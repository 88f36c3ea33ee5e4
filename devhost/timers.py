"""Timer triggers on their NCRONTAB (6-field, seconds first) or TimeSpan schedules, in UTC."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.functions.timer import TimerRequest
from croniter import croniter

from devhost.config import resolve_setting
from devhost.indexer import FunctionInfo

log = logging.getLogger("devhost.timers")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")


class ScheduleError(ValueError):
    """A schedule devhost cannot parse."""


class Schedule:
    """Next occurrences of an NCRONTAB expression or a fixed TimeSpan interval."""

    def __init__(self, expression: str):
        self.expression = expression
        span = _TIMESPAN.match(expression)
        self.interval: timedelta | None = None
        if span:
            days, hours, minutes, seconds = (int(g or 0) for g in span.groups())
            self.interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
            if self.interval <= timedelta(0):
                raise ScheduleError(f"timer interval must be positive: {expression!r}")
            return
        fields = expression.split()
        if len(fields) not in (5, 6) or not croniter.is_valid(expression, second_at_beginning=len(fields) == 6):
            raise ScheduleError(f"invalid NCRONTAB expression {expression!r}")

    def next_after(self, moment: datetime) -> datetime:
        if self.interval is not None:
            return moment + self.interval
        six = len(self.expression.split()) == 6
        return croniter(self.expression, moment, second_at_beginning=six).get_next(datetime)


def schedule_of(info: FunctionInfo) -> Schedule:
    return Schedule(resolve_setting(str(info.trigger["schedule"])))


def timer_request(info: FunctionInfo, *, past_due: bool, last: datetime | None = None,
                  upcoming: datetime | None = None) -> TimerRequest:
    """The TimerRequest the worker passes a timer function."""
    now = datetime.now(UTC)
    status = {"Last": (last or now).isoformat(), "Next": (upcoming or now).isoformat(), "LastUpdated": now.isoformat()}
    return TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})


async def run_timer(info: FunctionInfo, fire: Callable[[TimerRequest], Awaitable[Any]]) -> None:
    """Fire `info` on its schedule forever (one invocation at a time, like a singleton host)."""
    schedule = schedule_of(info)
    last: datetime | None = None
    if info.trigger.get("runOnStartup"):
        last = datetime.now(UTC)
        await _fire(info, fire, timer_request(info, past_due=False, last=last))
    due = schedule.next_after(datetime.now(UTC))
    while True:
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        now = datetime.now(UTC)
        upcoming = schedule.next_after(max(now, due))
        await _fire(info, fire, timer_request(info, past_due=(now - due) > timedelta(seconds=1), last=last or due,
                                              upcoming=upcoming))
        last, due = due, schedule.next_after(max(datetime.now(UTC), due))


async def _fire(info: FunctionInfo, fire: Callable[[TimerRequest], Awaitable[Any]],
                request: TimerRequest) -> None:
    try:
        await fire(request)
    except Exception:
        log.exception("timer function %s failed", info.name)
