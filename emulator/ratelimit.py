"""A token bucket: `rate` calls a second on average, bursts up to `capacity`."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Refills continuously; `try_take` never waits, the caller answers 429 instead."""

    def __init__(self, rate: float, *, capacity: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()

    def try_take(self) -> bool:
        """Take one token if there is one; unlimited when rate <= 0."""
        if self.rate <= 0:
            return True
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
