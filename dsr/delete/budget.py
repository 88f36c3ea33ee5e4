"""What bounds one call of a delete step: its Training API call budget, and the small result it returns."""

from __future__ import annotations

import threading
from typing import TypedDict

from dsr.delete.order import Step


class StepResult(TypedDict):
    """What one call of a step did; `done` false means "call again" (with `deleted` 0: no progress)."""

    step: str
    deleted: int  # items deleted (or iterations unpublished) by this call
    calls: int  # Training API calls this call made
    done: bool  # nothing of this kind is left


class CallBudget:
    """Counts calls against a limit; the first unit of work is always allowed, so every call makes progress.
    Threads of one step may count at once."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("max_calls must be at least 1")
        self.limit = limit
        self.used = 0
        self.progressed = False
        self._lock = threading.Lock()

    def spend(self, n: int = 1) -> None:
        """Calls that only read."""
        with self._lock:
            self.used += n

    def work(self, n: int = 1) -> None:
        """Calls that deleted (or unpublished) something."""
        with self._lock:
            self.used += n
            self.progressed = True

    def allows(self, n: int) -> bool:
        return not self.progressed or self.used + n <= self.limit


def step_result(step: Step, deleted: int, budget: CallBudget, done: bool) -> StepResult:
    """What one call of `step` did, with the calls it spent."""
    return StepResult(step=str(step), deleted=deleted, calls=budget.used, done=done)


def batches(count: int, size: int) -> int:
    """Calls needed for `count` ids, `size` a call."""
    return -(-count // size)
