"""The shared copy pool: results in order, errors raised, and one bound on copies in flight for all callers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dsr.export.pool import COPY_CONCURRENCY, run_all


def test_results_come_back_in_order() -> None:
    assert run_all(lambda n: n * n, range(100)) == [n * n for n in range(100)]


def test_an_error_is_raised_to_the_caller() -> None:
    def work(n: int) -> int:
        if n == 7:
            raise ValueError("bad item")
        return n

    with pytest.raises(ValueError, match="bad item"):
        run_all(work, range(20))


def test_callers_in_parallel_share_one_bound() -> None:
    lock = threading.Lock()
    running = peak = 0

    def work(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.005)
        with lock:
            running -= 1
        return n

    with ThreadPoolExecutor(max_workers=6) as callers:  # six "activities" at once
        results = list(callers.map(lambda _: run_all(work, range(40)), range(6)))
    assert results == [list(range(40))] * 6
    assert peak <= COPY_CONCURRENCY
