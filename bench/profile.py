"""Optional: sample devhost with py-spy while our export runs, and say where its threads spend their time.

py-spy is not a dependency (`pip install py-spy` into the venv); without it `--py-spy` is refused. Samples
are taken with `--nonblocking` (devhost is not paused), so threads waiting on a socket show up as
`SocketIO.readinto`: that share is time spent waiting for Azurite or the emulator.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# A sample counts for the category of its innermost frame that matches one (first pattern wins on a frame).
CATEGORIES: list[tuple[str, str]] = [
    ("logging (lock wait + handlers)", r"logging/__init__"),
    ("hashing", r"hashlib|_digest"),
    ("requests per-call env lookups (netrc, CA bundle)", r"get_netrc_auth|build_connection_pool_key_attributes"),
    ("waiting on a socket (Azurite / emulator)", r"SocketIO\.readinto|wait_for_socket|EpollSelector"),
    ("new TCP connections", r"create_connection|getaddrinfo|_real_close|socket\.__init__"),
    ("azure-storage-blob XML (de)serialization (listings)", r"xml/etree|_generated/_utils/serialization|ContentDecode"),
    ("http client work (requests/urllib3/azure-core/storage)",
     r"urllib3|requests/|http/client|azure/core|core/pipeline|"
     r"storage/blob|blob/_"),
    ("thread pool idle", r"concurrent/futures/thread\.py"),
    ("devhost engine", r"devhost/"),
]


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


class Profiler:
    """`with Profiler(pid, path):` records raw (collapsed) stacks of every thread at `rate` Hz."""

    def __init__(self, pid: int, raw_path: Path, *, rate: int = 40) -> None:
        binary = py_spy()
        if binary is None:
            raise RuntimeError("py-spy is not installed: pip install py-spy")
        self.argv = [binary, "record", "--nonblocking", "--threads", "-r", str(rate), "-f", "raw",
                     "-o", str(raw_path), "--pid", str(pid)]
        self.raw_path = raw_path
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        self._proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, pattern in CATEGORIES:
            if re.search(pattern, frame):
                return label
    return "other"


def summarize(raw_path: Path, *, top: int = 12) -> dict[str, Any]:
    """Share of samples per category, and the most frequent innermost frames."""
    total = 0
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    try:
        lines = raw_path.read_text(errors="replace").splitlines()
    except OSError:
        return {"samples": 0, "categories": {}, "topFrames": {}}
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        name = _category(stack.split(";"))
        categories[name] += n
        leaves[stack.split(";")[-1]] += n

    def share(n: int) -> float:
        return round(100 * n / total, 1) if total else 0.0

    return {"samples": total,
            "categoriesPercent": {k: share(v) for k, v in categories.most_common()},
            "topFramesPercent": {k: share(v) for k, v in leaves.most_common(top)}}
