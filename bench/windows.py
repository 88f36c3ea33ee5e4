"""Training API calls per second as the emulator saw them: counts per 1 s window of a run."""

from __future__ import annotations

import math
import statistics
from typing import TypedDict


class CallRate(TypedDict):
    """Calls per 1 s window from the run's start: fixed windows (median, max) and any 1 s interval (maxSliding)."""

    calls: int
    windows: int
    median: float
    max: int
    maxSliding: int  # the most calls in any [t, t + 1 s): what "no 1 s window above the rate + 1" is checked on


def max_in_any_second(times: list[float]) -> int:
    """The most events in any half-open 1 s interval."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def call_rate(times: list[float], start: float, end: float) -> CallRate:
    """Per-window counts of `times` (epoch seconds) between `start` and `end`."""
    inside = [t for t in times if start <= t <= end]
    windows = max(1, math.ceil(end - start))
    counts = [0] * windows
    for moment in inside:
        counts[min(int(moment - start), windows - 1)] += 1
    return CallRate(calls=len(inside), windows=windows, median=float(statistics.median(counts)),
                    max=max(counts), maxSliding=max_in_any_second(inside))
