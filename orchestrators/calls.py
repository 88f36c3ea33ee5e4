"""Helpers for orchestrator generators: an activity call whose final failure becomes a `failed` result."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from activities.retry import ACTIVITY_RETRY
from dsr.envelope import failed
from orchestrators.progress import sub_instance_id

PROJECT_BATCH = 10  # project sub-orchestrations in flight at once


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


def per_project(
    context: Any,
    orchestrator: Any,
    job: dict[str, Any],
    project_ids: list[str],
    *,
    on_failure: Callable[[str, Exception], dict[str, Any]],
    after_batch: Callable[[int], None],
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """`yield from` this: one sub-orchestration per project, PROJECT_BATCH at a time, outcomes in project order.

    A batch whose sub-orchestration failed outright gets `on_failure(project_id, error)` for each of its projects;
    `after_batch(projects_done)` runs after each batch (to update progress).
    """
    outcomes: list[dict[str, Any]] = []
    for start in range(0, len(project_ids), PROJECT_BATCH):
        batch = project_ids[start : start + PROJECT_BATCH]
        tasks = [
            context.call_sub_orchestrator(
                orchestrator,
                {**job, "projectId": pid},
                sub_instance_id(job["requestId"], pid),
                expected_type=dict,  # the wrapper's `-> str` annotation is not what the sub-orchestration returns
            )
            for pid in batch
        ]
        try:
            outcomes.extend((yield context.task_all(tasks)))
        except Exception as exc:
            outcomes.extend(on_failure(pid, exc) for pid in batch)
        after_batch(len(outcomes))
    return outcomes


def _reason(exc: BaseException) -> str:
    text = str(exc)
    marker = "failed:"
    return text.split(marker, 1)[1].strip() if marker in text else text
