"""Timer schedules (DESIGN.md §3): named NCRONTAB schedules, each starting a request template once per slot.

One scheduler timer ticks (SCHEDULER_TICK) and evaluates every schedule in DSR_SCHEDULES. A slot's instance id
is `sched-{name}-{slot:%Y%m%dT%H%MZ}`, so re-firing the same slot (a second tick, a restart, two hosts) finds
the run it already started and starts nothing. A slot whose schedule still has an earlier slot running is
skipped and logged. A bad schedule is reported naming it and its field, and never starts anything; the
others still run.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from croniter import croniter

from dsr.intake import Decision, Orchestrations, start_once
from dsr.request import DataRequest, RequestValidationError, parse_request
from dsr.settings import Settings
from dsr.subject.store import BlobSelectors, SelectorStore

log = logging.getLogger(__name__)

SCHEDULES_SETTING = "DSR_SCHEDULES"
TICK_SETTING = "SCHEDULER_TICK"
DEFAULT_TICK = "0 */1 * * * *"  # every minute, at second 0
PREFIX = "sched-"
SLOT_FORMAT = "%Y%m%dT%H%MZ"
NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")  # sched-{name}-{slot} stays a valid 64-character request id
MAX_CATCH_UP = timedelta(days=1)  # after downtime, the newest missed slot still runs if it is this recent
_SLOT = re.compile(r"\d{8}T\d{4}Z")
_FIELDS = ("name", "schedule", "request")


class ScheduleOrchestrations(Orchestrations, Protocol):
    """The intake port plus listing the instances still going under an id prefix."""

    async def running_ids(self, prefix: str) -> list[str]: ...


@dataclass(frozen=True)
class RequestSchedule:
    """One named schedule: a 6-field NCRONTAB expression (UTC) and the request body it starts (no requestId)."""

    name: str
    expression: str
    request: Mapping[str, Any] = field(hash=False)

    def slot_id(self, slot: datetime) -> str:
        """The deterministic instance id (= request id) of this schedule's run for `slot`."""
        return f"{self.prefix}{slot.astimezone(UTC).strftime(SLOT_FORMAT)}"

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.name}-"

    def due_slot(self, *, since: datetime, now: datetime) -> datetime | None:
        """The newest slot in (since, now], or None when the schedule has no slot there."""
        # get_prev is strictly before its start: start 1 µs after `now` so a slot at `now` itself counts
        slot = croniter(self.expression, now + timedelta(microseconds=1), second_at_beginning=True,
                        day_or=False).get_prev(datetime)  # NCRONTAB: day-of-month AND day-of-week
        slot = slot.replace(tzinfo=UTC) if slot.tzinfo is None else slot.astimezone(UTC)
        return slot if since < slot <= now else None


class Fired(StrEnum):
    """What one tick did for one schedule."""

    STARTED = "started"  # a new run for this slot
    EXISTING = "existing"  # this slot already started (the timer fired twice, or another host did it)
    SKIPPED = "skipped"  # an earlier slot of the schedule is still running
    NOT_DUE = "not_due"  # no slot since the last tick
    CONFLICT = "conflict"  # the slot's id holds a different request (the template changed mid-slot)
    INVALID = "invalid"  # the schedule or its request is invalid: nothing started
    FAILED = "failed"  # starting failed; the next tick retries the slot while it is in the window


class ScheduleError(ValueError):
    """A schedule that cannot run; the message names the schedule and the field."""


def binding_setting(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    """`%NAME%` for a binding when the setting is set (the host resolves it), else the literal default.

    The host refuses a binding whose %SETTING% is missing, so an unset optional setting falls back to its
    documented default instead of failing the whole app at indexing.
    """
    env = os.environ if env is None else env
    return f"%{name}%" if env.get(name) else default


def load_schedules(raw: str | None, settings: Settings) -> tuple[list[RequestSchedule], list[ScheduleError]]:
    """The valid schedules of DSR_SCHEDULES and an error for each invalid one (a bad one never hides the others)."""
    try:
        entries = json.loads(raw or "[]")
    except ValueError as exc:
        return [], [ScheduleError(f"{SCHEDULES_SETTING} is not valid JSON: {exc}")]
    if not isinstance(entries, list):
        return [], [ScheduleError(f"{SCHEDULES_SETTING} must be a JSON list of schedules")]
    schedules: list[RequestSchedule] = []
    errors: list[ScheduleError] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        try:
            schedule = parse_schedule(entry, index, settings)
            if schedule.name in seen:
                raise ScheduleError(f"{_where(index, schedule.name)}: /name: duplicate of an earlier schedule")
        except ScheduleError as exc:
            errors.append(exc)
            continue
        seen.add(schedule.name)
        schedules.append(schedule)
    return schedules, errors


def parse_schedule(entry: Any, index: int, settings: Settings) -> RequestSchedule:
    """One DSR_SCHEDULES entry as a RequestSchedule, or ScheduleError naming it and the bad field."""
    if not isinstance(entry, dict):
        raise ScheduleError(f"{_where(index, None)}: must be an object with name, schedule and request")
    name = entry.get("name")
    where = _where(index, name if isinstance(name, str) else None)
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise ScheduleError(f"{where}: /{unknown[0]}: unknown field (allowed: {', '.join(_FIELDS)})")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ScheduleError(f"{where}: /name: must be 1-40 letters, digits, '_' or '-'")
    expression = entry.get("schedule")
    problem = cron_problem(expression)
    if problem:
        raise ScheduleError(f"{where}: /schedule: {problem}")
    template = entry.get("request")
    if not isinstance(template, dict):
        raise ScheduleError(f"{where}: /request: must be a request body (a JSON object)")
    if "requestId" in template:
        raise ScheduleError(f"{where}: /request/requestId: not allowed; each slot gets sched-{name}-<slot> as its id")
    schedule = RequestSchedule(name=name, expression=str(expression), request=dict(template))
    try:  # validate the template exactly as a request, under a sample slot id
        request_for(schedule, datetime(2000, 1, 1, tzinfo=UTC), settings)
    except RequestValidationError as exc:
        details = "; ".join(f"/request{p['field']}: {p['reason']}" for p in exc.problems)
        raise ScheduleError(f"{where}: {details}") from None
    return schedule


def cron_problem(expression: Any) -> str | None:
    """Why `expression` is not a usable 6-field NCRONTAB schedule (seconds first, one run a minute at most)."""
    if not isinstance(expression, str) or len(expression.split()) != 6:
        return "must be a 6-field NCRONTAB expression ('{second} {minute} {hour} {day} {month} {day-of-week}')"
    if not croniter.is_valid(expression, second_at_beginning=True):
        return f"{expression!r} is not a valid NCRONTAB expression"
    if not expression.split()[0].isdigit():
        return "the seconds field must be a single number: a schedule runs at most once a minute (slot ids are minutes)"
    return None


def request_for(schedule: RequestSchedule, slot: datetime, settings: Settings) -> DataRequest:
    """The schedule's request for `slot`, validated like any API request."""
    body = json.dumps({**schedule.request, "requestId": schedule.slot_id(slot)}).encode()
    return parse_request(body, settings=settings, new_id=_unused)


def window_start(now: datetime, *, last: datetime | None, tick: str) -> datetime:
    """Where this tick's window of due slots starts: one tick period back, or the last tick after downtime.

    Windows of consecutive ticks may overlap: slot ids make a slot seen twice start once.
    """
    period = _period(tick, now)
    since = now - period
    if last is not None and last < since:
        since = max(last, now - MAX_CATCH_UP)
    return since


async def run_schedules(
    raw: str | None,
    *,
    settings: Settings,
    orchestrations: ScheduleOrchestrations,
    now: datetime,
    last: datetime | None = None,
    tick: str = DEFAULT_TICK,
    selectors: SelectorStore | None = None,
) -> dict[str, Fired]:
    """One scheduler tick: for each schedule, start its due slot once; what happened, by schedule name."""
    schedules, errors = load_schedules(raw, settings)
    for error in errors:
        log.error("schedule not run: %s", error)
    since = window_start(now, last=last, tick=tick)
    fired: dict[str, Fired] = {}
    for schedule in schedules:
        try:
            fired[schedule.name] = await fire(schedule, settings=settings, orchestrations=orchestrations,
                                              since=since, now=now, selectors=selectors)
        except Exception as exc:  # one schedule's failure never stops the others
            log.error("schedule %s: could not start its slot (%s: %s)", schedule.name, type(exc).__name__, exc)
            fired[schedule.name] = Fired.FAILED
    return fired


async def fire(
    schedule: RequestSchedule, *, settings: Settings, orchestrations: ScheduleOrchestrations, since: datetime,
    now: datetime, selectors: SelectorStore | None = None,
) -> Fired:
    """Start the schedule's due slot unless it started already or an earlier slot is still running."""
    slot = schedule.due_slot(since=since, now=now)
    if slot is None:
        return Fired.NOT_DUE
    instance_id = schedule.slot_id(slot)
    running = [i for i in await orchestrations.running_ids(schedule.prefix)
               if i != instance_id and _SLOT.fullmatch(i[len(schedule.prefix):])]
    if running:
        log.warning("schedule %s: slot %s skipped, previous run %s is still going", schedule.name, instance_id,
                    ", ".join(sorted(running)))
        return Fired.SKIPPED
    request = request_for(schedule, slot, settings)
    decision = await start_once(request, orchestrations=orchestrations, now=now,
                                selectors=selectors or (BlobSelectors(settings) if request.subject else None))
    if decision is Decision.CONFLICT:
        log.warning("schedule %s: slot %s already holds a different request; not started", schedule.name,
                    instance_id)
        return Fired.CONFLICT
    if decision is Decision.EXISTING:
        log.info("schedule %s: slot %s already started; nothing to do", schedule.name, instance_id)
        return Fired.EXISTING
    log.info("schedule %s: slot %s started", schedule.name, instance_id)
    return Fired.STARTED


def _period(expression: str, now: datetime) -> timedelta:
    """The interval between the tick's occurrences around `now`."""
    six = len(expression.split()) == 6
    if not croniter.is_valid(expression, second_at_beginning=six):
        raise ScheduleError(f"{TICK_SETTING}: {expression!r} is not a valid NCRONTAB expression")
    after = croniter(expression, now, second_at_beginning=six, day_or=False).get_next(datetime)
    before = croniter(expression, after, second_at_beginning=six, day_or=False).get_prev(datetime)
    return after - before


def _where(index: int, name: str | None) -> str:
    return f"{SCHEDULES_SETTING}[{index}]" + (f" ({name!r})" if name else "")


def _unused() -> str:
    raise AssertionError("a schedule's request always carries its slot id")
