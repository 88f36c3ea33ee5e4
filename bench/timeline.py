"""Where our time goes: per-function invocation counts and durations, read back from devhost's log.

devhost logs `Executing 'Functions.NAME' (Reason='instance ID ...')` and `Executed 'Functions.NAME' (Succeeded,
Duration=Nms)` per invocation, tagged with the invocation id; this pairs them per request.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ devhost \[(?P<fn>\w+) (?P<inv>[0-9a-f-]{36})\] "
    r"(?P<what>Executing|Executed) 'Functions\.\w+' \((?P<rest>.*)\)$"
)
_DURATION = re.compile(r"Duration=(\d+)ms")


def _time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _lines(log_paths: Path | list[Path]) -> list[str] | None:
    """The lines of one log, or of several workers' logs merged by their timestamp prefix; None if none reads."""
    paths = [log_paths] if isinstance(log_paths, Path) else log_paths
    lines: list[str] = []
    read = False
    for path in paths:
        try:
            lines.extend(path.read_text(errors="replace").splitlines())
            read = True
        except OSError:
            continue
    if not read:
        return None
    return lines if len(paths) == 1 else sorted(lines, key=lambda line: line[:23])


def function_timeline(log_path: Path | list[Path], request_id: str) -> dict[str, Any]:
    """Per function of `request_id` (and its sub-orchestrations): calls, summed and longest duration, first
    start and last end relative to the first invocation; orchestrator replays included."""
    starts: dict[str, tuple[str, float]] = {}
    stats: dict[str, dict[str, Any]] = {}
    origin: float | None = None
    lines = _lines(log_path)
    if lines is None:
        return {}
    for line in lines:
        match = _LINE.match(line)
        if not match:
            continue
        moment = _time(match["ts"])
        if match["what"] == "Executing":
            if f"instance {request_id}" in match["rest"]:
                starts[match["inv"]] = (match["fn"], moment)
                origin = moment if origin is None else origin
            continue
        started = starts.pop(match["inv"], None)
        if started is None or origin is None:
            continue
        duration = _DURATION.search(match["rest"])
        entry = stats.setdefault(started[0], {"calls": 0, "totalSeconds": 0.0, "maxSeconds": 0.0,
                                              "firstStart": started[1] - origin, "lastEnd": 0.0})
        seconds = int(duration.group(1)) / 1000 if duration else moment - started[1]
        entry["calls"] += 1
        entry["totalSeconds"] = round(entry["totalSeconds"] + seconds, 3)
        entry["maxSeconds"] = max(entry["maxSeconds"], seconds)
        entry["firstStart"] = round(min(entry["firstStart"], started[1] - origin), 3)
        entry["lastEnd"] = round(max(entry["lastEnd"], moment - origin), 3)
    return dict(sorted(stats.items(), key=lambda kv: kv[1]["firstStart"]))


def invocations_by_log(log_paths: list[Path], request_ids: list[str]) -> dict[str, int]:
    """Per devhost worker's log: how many orchestrator episodes and activities of the requests it ran (how the
    work spread over scaled-out workers)."""
    counts: dict[str, int] = {}
    for path in log_paths:
        lines = _lines(path) or []
        counts[path.name] = sum(1 for line in lines if (match := _LINE.match(line)) and match["what"] == "Executing"
                                and any(f"instance {request_id}" in match["rest"] for request_id in request_ids))
    return counts


_HTTP = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO azure\.core\.pipeline\.policies\.http_logging_policy "
    r"\[\w+ (?P<inv>[0-9a-f-]{36})\] (?:Request URL: '(?P<url>[^']*)'|Response status: (?P<status>\d+))"
)


def _operation(url: str) -> str | None:
    """A Training API operation name from a (redacted) request URL; None for blob and other calls."""
    if "/customvision/" not in url:
        return None
    path, _, query = url.partition("?")
    tail = path.split("/training/", 1)[-1]
    if tail.endswith("/images") and "imageIds=" in query:
        return "DeleteImages"
    if tail.endswith("/images"):
        return "GetImages"
    if tail.endswith("/images/count"):
        return "GetImageCount"
    return "other"


def training_call_durations(log_path: Path | list[Path], request_id: str) -> dict[str, Any]:
    """Per Training API operation, as the app saw it (request logged -> response logged, including the
    emulator's latency and work): calls, total and longest seconds. Pairs a request with the next response in
    the same invocation, so it is exact for sequential activities (delete steps, listing) and approximate for
    threaded ones."""
    invocations: set[str] = set()
    pending: dict[str, tuple[str, float]] = {}
    stats: dict[str, dict[str, Any]] = {}
    lines = _lines(log_path)
    if lines is None:
        return {}
    for line in lines:
        match = _LINE.match(line)
        if match and match["what"] == "Executing" and f"instance {request_id}" in match["rest"]:
            invocations.add(match["inv"])
            continue
        http = _HTTP.match(line)
        if not http or http["inv"] not in invocations:
            continue
        moment = _time(http["ts"])
        if http["url"] is not None:
            operation = _operation(http["url"])
            if operation:
                pending[http["inv"]] = (operation, moment)
            else:
                pending.pop(http["inv"], None)
            continue
        started = pending.pop(http["inv"], None)
        if started is None:
            continue
        entry = stats.setdefault(started[0], {"calls": 0, "totalSeconds": 0.0, "maxSeconds": 0.0})
        seconds = moment - started[1]
        entry["calls"] += 1
        entry["totalSeconds"] = round(entry["totalSeconds"] + seconds, 3)
        entry["maxSeconds"] = round(max(entry["maxSeconds"], seconds), 3)
    return stats
