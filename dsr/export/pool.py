"""One bounded pool of copy threads per process, shared by every activity that copies blobs.

Activities run side by side in one worker; a pool each multiplied the storage requests in flight (12
activities x 16 threads) and the memory they hold. One shared pool keeps both flat however many
chunks are running, and the storage account sees a steady, bounded number of requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

COPY_CONCURRENCY = 16  # copies in flight per process: more only queue on the GIL and the storage account

_T = TypeVar("_T")
_R = TypeVar("_R")
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def copy_pool() -> ThreadPoolExecutor:
    """The process's shared copy pool, created on first use."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=COPY_CONCURRENCY, thread_name_prefix="copy")
        return _pool


def submit_all(work: Callable[[_T], _R], items: Iterable[_T]) -> list[Future[_R]]:
    """Start `work` on each item on the shared pool (collect with `results`)."""
    return [copy_pool().submit(work, item) for item in items]


def results(futures: list[Future[_R]]) -> list[_R]:
    """The futures' results in order; the first error cancels what has not started and is raised."""
    try:
        return [future.result() for future in futures]
    except BaseException:
        cancel(futures)
        raise


def cancel(futures: Iterable[Future[_R]]) -> None:
    for future in futures:
        future.cancel()


def run_all(work: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """`work` over `items` on the shared pool, results in order; the first error cancels what has not started."""
    return results(submit_all(work, items))
