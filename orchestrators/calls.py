"""Helpers for orchestrator generators: an activity call whose final failure becomes a `failed` result."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from activities.retry import ACTIVITY_RETRY
from dsr.envelope import failed


def call_guarded(context: Any, activity: Any, payload: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """`yield from` this: the activity's result, or a failed result once Durable's retries are exhausted."""
    try:
        result = yield context.call_activity_with_retry(activity, ACTIVITY_RETRY, payload)
    except Exception as exc:
        return dict(failed("ActivityFailed", _reason(exc)))
    return result


def all_guarded(context: Any, tasks: list[Any]) -> Generator[Any, Any, tuple[list[Any], dict[str, Any] | None]]:
    """`yield from` this: (results, None), or ([], failed result) when a task failed after its retries."""
    if not tasks:
        return [], None
    try:
        results = yield context.task_all(tasks)
    except Exception as exc:
        return [], dict(failed("ActivityFailed", _reason(exc)))
    return results, None


def _reason(exc: BaseException) -> str:
    text = str(exc)
    marker = "failed:"
    return text.split(marker, 1)[1].strip() if marker in text else text
