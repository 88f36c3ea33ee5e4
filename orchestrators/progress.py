"""Per-category progress shown in the orchestration's custom status, and the replay-safe clock."""

from __future__ import annotations

from typing import Any

from dsr.times import iso_utc


def progress_status(phase: str, categories: list[str], done: dict[str, int], totals: dict[str, int]) -> dict[str, Any]:
    """The custom status payload: `{"phase", "progress": {category: {"done", "total"}}}`."""
    return {
        "phase": phase,
        "progress": {c: {"done": done.get(c, 0), "total": totals.get(c, 0)} for c in categories},
    }


def now_iso(context: Any) -> str:
    """The orchestration's deterministic current time, ISO-8601 UTC."""
    return iso_utc(context.current_utc_datetime, timespec="microseconds")


def sub_instance_id(request_id: str, project_id: str) -> str:
    """A project's sub-orchestration id: the ':' cannot occur in a request id, so no request can take it."""
    return f"{request_id}:{project_id}"
