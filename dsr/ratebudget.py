"""One Training API rate budget per Custom Vision resource, shared by every process of the app.

The limit belongs to the resource, not to a process: Flex Consumption runs up to 40 instances, each with a
dozen activities. So the budget is one GCRA record per resource endpoint, a small JSON blob
`{"next": <epoch seconds of the next free slot>}` in container `dsr-ratebudget` of the export account:
- a process reserves a few consecutive slots (`next`, `next + 1/tps`, ...) with ONE ETag-conditional write
  (If-Match; a 412 means another process won the race: read it again, retry) and hands them to its own
  waiting threads; each thread sleeps until its slot, then calls;
- bounded reservation: a process holds at most `max_held` slots it has not reached yet, and reserves only for
  threads that are waiting (and one spare, below), so an idle process holds nothing a slot after its last call
  and a process that dies wastes at most `max_held / tps` seconds of the budget (slots are times, not locks:
  nothing to expire or clean up);
- slots are 1.02/tps apart and a slot used more than `grace` (0.75 of a slot, at least 20 ms) after its time is
  forfeited, so calls do not bunch up: any 1 s window holds at most tps + 1 calls (alignment) whatever the number
  of processes, even when a call reaches the service up to 45 ms (at 10/s) later than its slot; slots start a
  little after the write that reserves them is expected to finish (twice its running average), so they are not
  stale when they arrive;
- a spare slot for a chain of calls: when a thread takes its process's last slot and no other thread waits, one
  more slot is reserved in the background while the call runs, with one write conditional on the record being
  as this process left it (a 412: another process is using the budget, no spare). The next call of a chain (a
  page after a page, an activity after an activity) then finds its slot reserved instead of paying a write and
  the lead on its path; an unused spare wastes one slot of a budget no one else was using;
- a 429's Retry-After moves the shared `next` forward, so every process backs off, not only the one told;
- processes' clocks are NTP-synchronised wall clocks; a skew of e lets a window hold about tps x (1 + 2e) + 1;
- if the record cannot be read or written (storage down, no permission), the process paces itself alone, as
  before this budget existed, and tries the record again after `RETRY_SHARED_SECONDS`.
Why a blob and not a Durable entity or the orchestrators: docs/architecture.md#one-rate-budget-per-resource.
The record itself (where it lives, its conditional writes): dsr/ratebudget_record.py; which pacer a client gets:
dsr/clients.py.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable

from dsr.ratebudget_record import Conflict, SlotStore

log = logging.getLogger("dsr.ratebudget")

HOLD_SECONDS = 0.5  # a process holds at most this much of the budget ahead (max_held = ceil(tps x this))
SPACING = 1.02  # slots are this much further apart than 1/tps, so a call delayed on its way (a busy host, the
# network) still leaves every 1 s window the service sees within tps + 1: bench/README.md, "Results of issue 17"
GRACE_SHARE = 0.75  # a slot may be used up to this share of one slot interval late...
MIN_GRACE = 0.02  # ...and at least this late (seconds): at high rates, thread wake-up jitter is not a reason to waste
LATE_AFTER_FORFEITS = 3  # a thread that missed its slot this many times in a row goes anyway (counted as "late")
MAX_LEAD = 1.0  # slots never start more than this after now because of slow writes
MAX_AHEAD_SECONDS = 600.0  # a record further ahead than this is a broken writer's (clock far in the future)
MAX_CONFLICTS = 50  # 412s in a row before this process gives up on the record for a while
RETRY_SHARED_SECONDS = 30.0  # after the record failed, pace alone this long before trying it again


class SharedBudget:
    """A `customvision.Pacer` whose slots come from a `SlotStore` shared by every process (see the module doc)."""

    def __init__(
        self,
        store: SlotStore,
        tps: float,
        *,
        max_held: int | None = None,
        grace: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        run_spare: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        """`run_spare` runs the reservation of a spare slot (`in_thread`: in the background); None: no spares."""
        if tps <= 0:
            raise ValueError("tps must be > 0")
        self.store = store
        self._set_rate(tps)
        if grace is not None and not 0 <= grace < self.interval:
            raise ValueError("grace must be below one slot interval (1/tps), or windows could hold tps + 2")
        self.max_held = max_held or self.max_held
        self.grace = self.grace if grace is None else grace
        self._clock, self._sleep = clock, sleep
        self._cond = threading.Condition()
        self._free: deque[float] = deque()  # reserved slots no thread has taken yet, in order
        self._outstanding = 0  # slots taken by threads still waiting for their time
        self._waiting = 0  # threads waiting for a slot to be reserved
        self._reserving = False
        self._known: tuple[float, str | None] | None = None  # what this process last read or wrote
        self._alone_until = 0.0  # the record failed: pace alone until then
        self._local_next = 0.0  # this process's own schedule (fallback), never behind what it was given
        self._paused_until = 0.0
        self._write_seconds: float | None = None  # running average of a reservation's write
        self._run_spare = run_spare
        self.stats = {"reservations": 0, "conflicts": 0, "forfeited": 0, "late": 0, "alone": 0, "spares": 0}

    def rerate(self, tps: float) -> None:
        """Use another rate from now on (a resource configured again with another `tps`)."""
        if tps <= 0:
            raise ValueError("tps must be > 0")
        with self._cond:
            self._set_rate(tps)

    def _set_rate(self, tps: float) -> None:
        """The slot interval, slots held and grace that follow from `tps`."""
        self.tps, self.interval = float(tps), SPACING / tps
        self.max_held = max(1, math.ceil(self.tps * HOLD_SECONDS))
        self.grace = max(self.interval * GRACE_SHARE, MIN_GRACE)

    # Pacer

    def acquire(self) -> float:
        """Wait for a slot of the shared budget; returns the seconds waited."""
        started = self._clock()
        missed = 0
        while True:
            slot, spare = self._take_slot()
            if spare:
                self._start_spare()
            try:
                wait = slot - self._clock()
                if wait > 0:
                    self._sleep(wait)
                now = self._clock()
            finally:
                with self._cond:
                    self._outstanding -= 1
                    self._cond.notify_all()
            if slot < self._paused_until:  # a 429 came while this thread slept: its slot is void
                continue
            if now - slot <= self.grace:
                return max(0.0, now - started)  # the caller goes at `now`: within `grace` of its slot
            missed += 1
            with self._cond:
                if missed >= LATE_AFTER_FORFEITS:  # an overloaded host: progress before the bound
                    self.stats["late"] += 1
                    return max(0.0, now - started)
                self.stats["forfeited"] += 1  # woke too late: using it now could bunch with the next slot

    def pause(self, seconds: float) -> None:
        """Move every process's next slot to now + `seconds` (the service answered 429 + Retry-After)."""
        until = self._clock() + seconds
        with self._cond:
            if until <= self._paused_until:
                return
            self._paused_until = until
            while self._free and self._free[0] < until:
                self._free.popleft()
            self._local_next = max(self._local_next, until)
        if self._clock() < self._alone_until:
            return
        try:
            self._write(lambda next_at, now: (max(next_at, until), None))
        except Exception as exc:  # the record is unavailable: this process still waits (above)
            self._go_alone(exc)

    # Slots

    def _take_slot(self) -> tuple[float, bool]:
        """A reserved slot, and whether to reserve a spare after it (see the module doc)."""
        with self._cond:
            while True:
                now = self._clock()
                while self._free and self._free[0] < now - self.grace:
                    self._free.popleft()  # reserved for a thread that did not come in time
                    self.stats["forfeited"] += 1
                if self._free:
                    self._outstanding += 1
                    slot = self._free.popleft()
                    spare = (self._run_spare is not None and not self._free and not self._waiting
                             and not self._reserving and self._outstanding < self.max_held
                             and self._known is not None and now >= self._alone_until)
                    if spare:
                        self._reserving = True  # until the spare is reserved: a thread coming meanwhile waits for it
                    return slot, spare
                if not self._reserving and self._outstanding < self.max_held:
                    # the threads waiting, or at high rates as many slots as pass during one write
                    demand = max(self._waiting + 1, math.ceil(self.tps * self._lead()))
                    want = min(self.max_held - self._outstanding, demand)
                    self._reserving = True
                    self._cond.release()
                    try:
                        slots = self._reserve(want)
                    finally:
                        self._cond.acquire()
                        self._reserving = False
                        self._cond.notify_all()
                    self._free.extend(slots)
                    continue
                self._waiting += 1
                try:
                    self._cond.wait(timeout=self.interval)
                finally:
                    self._waiting -= 1

    def _start_spare(self) -> None:
        """Hand the spare's reservation to `run_spare`; if it cannot start, no spare."""
        try:
            self._run_spare(self._reserve_spare)  # type: ignore[misc]
        except Exception:  # e.g. no thread can be started: the calls must not wait for a spare that never comes
            self._spare_done([])

    def _reserve_spare(self) -> None:
        """One slot no thread asked for yet, if the record is as this process left it (`_reserving` is set)."""
        slots: list[float] = []
        try:
            known = self._known
            if known is not None and self._clock() >= self._alone_until:
                next_at, etag = known
                new_next, start = self._advance(next_at, self._clock(), 1)
                self._known = (new_next, self.store.save(new_next, etag))
                slots = [start]
        except Conflict:  # another process wrote meanwhile: it is using the budget, leave it the slot
            self._known = None
        except Exception as exc:
            self._go_alone(exc)
        finally:
            self._spare_done(slots)

    def _spare_done(self, slots: list[float]) -> None:
        with self._cond:
            self._reserving = False
            kept = [slot for slot in slots if slot >= self._paused_until]  # a 429 came meanwhile
            self._free.extend(kept)
            self._local_next = max([self._local_next, *(slot + self.interval for slot in kept)])
            self.stats["spares"] += len(kept)
            self._cond.notify_all()

    def _reserve(self, count: int) -> list[float]:
        """`count` consecutive slots: from the shared record, or this process's own schedule when it fails."""
        if self._clock() >= self._alone_until:
            try:
                start = self._write(lambda next_at, now: self._advance(next_at, now, count))
                self.stats["reservations"] += 1
                slots = [start + i * self.interval for i in range(count)]
                self._local_next = max(self._local_next, slots[-1] + self.interval)
                return slots
            except Exception as exc:
                self._go_alone(exc)
        now = self._clock()
        start = max(self._local_next, now, self._paused_until)
        self._local_next = start + count * self.interval
        self.stats["alone"] += count
        return [start + i * self.interval for i in range(count)]

    def _lead(self) -> float:
        """How long after now a reservation's first slot starts: twice the average write, so the slots are not
        stale when the write returns them."""
        return 0.0 if self._write_seconds is None else min(MAX_LEAD, 2 * self._write_seconds)

    def _advance(self, next_at: float, now: float, count: int) -> tuple[float, float]:
        """(new next, first slot) for `count` slots after a record saying `next_at`."""
        if next_at - now > MAX_AHEAD_SECONDS:
            log.warning("rate budget record is %.0f s ahead of this clock: restarting it from now", next_at - now)
            next_at = now
        start = max(next_at, now + self._lead(), self._paused_until)
        return start + count * self.interval, start

    def _write(self, change: Callable[[float, float], tuple[float, float | None]]) -> float:
        """Read-modify-write the record with its etag until no one else wrote in between; returns the
        second value `change` gave (the first slot)."""
        for attempt in range(MAX_CONFLICTS):
            if self._known is None or attempt:
                self._known = self.store.load()
            next_at, etag = self._known
            now = self._clock()
            new_next, first = change(next_at, now)
            try:
                self._known = (new_next, self.store.save(new_next, etag))
                took = self._clock() - now
                self._write_seconds = took if self._write_seconds is None else 0.8 * self._write_seconds + 0.2 * took
                return first if first is not None else new_next
            except Conflict:
                self.stats["conflicts"] += 1
                self._sleep(random.uniform(0, min(0.05, 0.002 * (attempt + 1))))
        raise RuntimeError(f"rate budget record changed {MAX_CONFLICTS} times in a row")

    def _go_alone(self, exc: Exception) -> None:
        self._known = None
        self._alone_until = self._clock() + RETRY_SHARED_SECONDS
        # The reason, never the blob URL with credentials: storage errors name the operation and status.
        log.warning("rate budget record unavailable (%s); pacing this process alone for %.0f s",
                    type(exc).__name__, RETRY_SHARED_SECONDS)


def in_thread(work: Callable[[], None]) -> None:
    """Run `work` in a daemon thread (a spare slot's reservation, off the caller's path)."""
    threading.Thread(target=work, name="ratebudget-spare", daemon=True).start()
