"""Peak memory of a process tree (devhost and its children), sampled from /proc while a run is in flight."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TypedDict

PROC = Path("/proc")


class MemoryPeak(TypedDict):
    """Resident memory in MB: the largest sampled sum over the tree, and the main process's own high-water mark."""

    peakRssMb: float  # max over samples of sum(VmRSS) of the process and its descendants
    vmHwmMb: float | None  # VmHWM of the main process (peak RSS since it started, includes start-up)
    startRssMb: float  # tree RSS when sampling began
    samples: int


def status_kb(pid: int, field: str) -> int | None:
    """A `kB` field (VmRSS, VmHWM) of /proc/<pid>/status; None when the process is gone."""
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (children by ppid, recursively)."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def tree_rss_kb(pid: int) -> int:
    return sum(status_kb(p, "VmRSS") or 0 for p in descendants(pid))


class MemorySampler:
    """Polls the tree's RSS every `interval` seconds on a thread; use as a context manager, then `.peak()`."""

    def __init__(self, pid: int, *, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._max_kb = 0
        self._start_kb = 0
        self._samples = 0

    def _sample(self) -> None:
        rss = tree_rss_kb(self.pid)
        self._max_kb = max(self._max_kb, rss)
        self._samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._start_kb = tree_rss_kb(self.pid)
        self._max_kb = self._start_kb
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def peak(self) -> MemoryPeak:
        hwm = status_kb(self.pid, "VmHWM")
        return MemoryPeak(
            peakRssMb=round(self._max_kb / 1024, 1),
            vmHwmMb=round(hwm / 1024, 1) if hwm is not None else None,
            startRssMb=round(self._start_kb / 1024, 1),
            samples=self._samples,
        )


def available() -> bool:
    """/proc memory figures exist (Linux)."""
    return os.path.exists(PROC / "self" / "status")
