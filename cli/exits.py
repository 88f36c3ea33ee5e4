"""The command's exit codes, and which one a request's final status earns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsr.runtime_status import RuntimeStatus

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130

REFUSED_STATUSES = frozenset({400, 404, 409, 413, 422})  # the API refused the input: exit 2, not 3


def exit_code(status: Mapping[str, Any]) -> int:
    """0 when the request completed and no category failed; 1 otherwise (failed, cancelled, partial)."""
    if status.get("status") != RuntimeStatus.COMPLETED:
        return EXIT_FAILED
    result: Mapping[str, Any] = status.get("result") or {}
    if result.get("status") in ("failed", "completed_with_errors", "cancelled", "verification_failed"):
        return EXIT_FAILED
    categories: Mapping[str, Mapping[str, Any]] = result.get("categories") or {}
    return EXIT_FAILED if any(c.get("status") == "failed" for c in categories.values()) else EXIT_OK
