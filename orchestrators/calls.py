"""Helpers for orchestrator generators: guarded activity calls and fan-outs that never outrun the host.

On Azure a failed `task_all` is delivered only after every child has finished (the extension's shim awaits
`Task.WhenAll`), but the Python SDK raises at the first failed child; an orchestrator that goes on at that
point schedules work the shim has not reached, and the two number tasks differently (hangs, results routed
to the wrong task: azure-functions-durable-python issue #603). `gather` therefore waits for every child and
returns each one's outcome; fanned-out activities report failures in their result instead of raising.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from typing import Any

from activities.retry import ACTIVITY_RETRY
from dsr.envelope import failed
from dsr.failures import failure_reason
from orchestrators.progress import sub_instance_id

PROJECT_BATCH = 10  # project sub-orchestrations in flight at once


def call_guarded(context: Any, activity: Any, payload: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """`yield from` this: the activity's result, or a failed result once Durable's retries are exhausted."""
    try:
        result = yield context.call_activity_with_retry(activity, ACTIVITY_RETRY, payload)
    except Exception as exc:
        return dict(failed("ActivityFailed", failure_reason(str(exc))))
    return result


def gather(context: Any, tasks: list[Any]) -> Generator[Any, Any, list[tuple[bool, Any]]]:
    """`yield from` this: `(True, result)` or `(False, reason)` per task, in order, once every task has finished.

    When the SDK fails the task_all at its first failed child, the other children are awaited one by one
    (already scheduled: no new action), as the host's WhenAll does, before anything else is scheduled.
    """
    if not tasks:
        return []
    with contextlib.suppress(Exception):  # the SDK failed fast: each child's own outcome is read below
        results = yield context.task_all(tasks)
        return [(True, result) for result in results]
    settled: list[tuple[bool, Any]] = []
    for task in tasks:
        try:
            settled.append((True, (yield task)))
        except Exception as exc:
            settled.append((False, failure_reason(str(exc))))
    return settled


def per_project(
    context: Any,
    orchestrator: Any,
    job: dict[str, Any],
    project_ids: list[str],
    *,
    on_failure: Callable[[str, str], dict[str, Any]],
    after_batch: Callable[[int], None],
    stop: Callable[[list[dict[str, Any]]], bool] = lambda outcomes: False,
    on_skipped: Callable[[str], dict[str, Any]] | None = None,
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """`yield from` this: one sub-orchestration per project, PROJECT_BATCH at a time, outcomes in project order.

    A sub-orchestration that failed outright gets `on_failure(project_id, reason)`; its siblings keep their
    outcomes. `after_batch(projects_done)` runs after each batch (to update progress); when `stop(outcomes)`
    says so, no further batch starts and each remaining project gets `on_skipped(project_id)`.
    """
    children = [({**job, "projectId": pid}, sub_instance_id(job["requestId"], pid)) for pid in project_ids]
    return (yield from fan_out(
        context, orchestrator, children,
        on_failure=lambda child, reason: on_failure(child["projectId"], reason), after_batch=after_batch, stop=stop,
        on_skipped=None if on_skipped is None else lambda child: on_skipped(child["projectId"]),
    ))


Child = tuple[dict[str, Any], str]  # a sub-orchestration's input and its instance id


def fan_out(
    context: Any,
    orchestrator: Any,
    children: list[Child],
    *,
    on_failure: Callable[[dict[str, Any], str], dict[str, Any]],
    after_batch: Callable[[int], None],
    stop: Callable[[list[dict[str, Any]]], bool] = lambda outcomes: False,
    on_skipped: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """`yield from` this: one sub-orchestration per child, PROJECT_BATCH at a time, outcomes in order (see
    `per_project`; the callbacks get the child's input)."""
    outcomes: list[dict[str, Any]] = []
    for start in range(0, len(children), PROJECT_BATCH):
        batch = children[start : start + PROJECT_BATCH]
        tasks = [
            context.call_sub_orchestrator(
                orchestrator, payload, instance_id,
                expected_type=dict,  # the wrapper's `-> str` annotation is not what the sub-orchestration returns
            )
            for payload, instance_id in batch
        ]
        settled = yield from gather(context, tasks)
        outcomes.extend(result if ok else on_failure(child, result)
                        for (child, _), (ok, result) in zip(batch, settled, strict=True))
        after_batch(len(outcomes))
        if stop(outcomes) and on_skipped is not None:
            outcomes.extend(on_skipped(child) for child, _ in children[len(outcomes):])
            break
    return outcomes
