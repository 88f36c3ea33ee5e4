"""Peak memory of a process tree (devhost and its children), sampled from /proc while a run is in flight."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TypedDict

PROC = Path("/proc")


class MemoryPeak(TypedDict):
    """Resident memory in MB: the largest sampled sum over the tree(s), and the main processes' high-water marks."""

    peakRssMb: float  # max over samples of sum(VmRSS) of the processes and their descendants
    vmHwmMb: float | None  # sum of VmHWM of the main processes (peak RSS since each started, includes start-up)
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
    """Polls the RSS of the trees of `pids` (e.g. every devhost worker) every `interval` seconds on a thread; use as
    a context manager, then `.peak()`."""

    def __init__(self, pids: int | list[int], *, interval: float = 0.1) -> None:
        self.pids = [pids] if isinstance(pids, int) else list(pids)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._max_kb = 0
        self._start_kb = 0
        self._samples = 0

    def _rss_kb(self) -> int:
        return sum(tree_rss_kb(pid) for pid in self.pids)

    def _sample(self) -> None:
        rss = self._rss_kb()
        self._max_kb = max(self._max_kb, rss)
        self._samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._start_kb = self._rss_kb()
        self._max_kb = self._start_kb
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def peak(self) -> MemoryPeak:
        marks = [status_kb(pid, "VmHWM") for pid in self.pids]
        hwm = None if None in marks else sum(m for m in marks if m is not None)
        return MemoryPeak(
            peakRssMb=round(self._max_kb / 1024, 1),
            vmHwmMb=round(hwm / 1024, 1) if hwm is not None else None,
            startRssMb=round(self._start_kb / 1024, 1),
            samples=self._samples,
        )


def available() -> bool:
    """/proc memory figures exist (Linux)."""
    return os.path.exists(PROC / "self" / "status")
