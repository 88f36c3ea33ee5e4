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


# --- loops whose history stays bounded whatever their length ---------------------------------------------
#
# Every task an orchestrator awaits (activity, timer, sub-orchestration) adds at most four events to its history:
# the scheduling event, the completion, and the episode the completion starts (OrchestratorStarted/-Completed).
# A loop over image chunks, delete calls or prediction pages grows with the data, so it runs in units whose tasks
# are counted: LOOP_INLINE_TASKS in its caller's own history (small loops, most of them, cost no extra instance),
# the rest in a sub-orchestration that continues as new every LOOP_GENERATION_TASKS, carrying only the loop's
# small state. An instance's history then stays under 4 x (tasks budget + largest unit) + 4 events however large
# the project (docs/architecture.md, "History bounds").

LOOP_INLINE_TASKS = 64  # tasks of a loop run in the caller's history before the rest moves to a sub-orchestration
LOOP_GENERATION_TASKS = 256  # tasks per generation of that sub-orchestration before it continues as new
# Tasks one call_guarded may take in the worst case: every attempt of ACTIVITY_RETRY and a timer between two.
GUARDED_CALL_TASKS = 2 * ACTIVITY_RETRY.max_number_of_attempts - 1

LoopState = dict[str, Any]  # JSON; "done" says the loop is over; "tasks", "generation" count what it took
LoopUnit = Callable[[Any, LoopState], Generator[Any, Any, tuple[LoopState, int]]]


def run_units(context: Any, unit: LoopUnit, state: LoopState, budget: int) -> Generator[Any, Any, LoopState]:
    """`yield from` this: advance `state` one unit at a time until it is done or `budget` tasks were awaited."""
    spent = 0
    while not state["done"] and spent < budget:
        state, tasks = yield from unit(context, state)
        spent += tasks
        state = {**state, "tasks": state.get("tasks", 0) + tasks}
    return state


def bounded_loop(context: Any, unit: LoopUnit, state: LoopState, orchestrator: Any,
                 name: str) -> Generator[Any, Any, LoopState]:
    """`yield from` this: the loop's final state. Its first LOOP_INLINE_TASKS tasks run here; the rest run in the
    sub-orchestration `{this instance}:{name}` (`orchestrator`, whose body is `continued_loop`), which continues as
    new every LOOP_GENERATION_TASKS. A sub-orchestration that fails outright ends the loop with `error`."""
    state = yield from run_units(context, unit, state, LOOP_INLINE_TASKS)
    if state["done"]:
        return state
    try:
        handed = {**state, "generation": 1, "inlineTasks": state.get("tasks", 0)}  # tasks already in this history
        return (yield context.call_sub_orchestrator(orchestrator, handed, f"{context.instance_id}:{name}",
                                                    expected_type=dict))
    except Exception as exc:
        error = dict(failed("SubOrchestrationFailed", failure_reason(str(exc))))["error"]
        return {**state, "done": True, "error": error}


def continued_loop(context: Any, unit: LoopUnit) -> Generator[Any, Any, LoopState | None]:
    """The body of a loop's sub-orchestrator: one generation of LOOP_GENERATION_TASKS, then continue-as-new with the
    state (the same instance id: the parent hears only when the last generation completes), or the final state."""
    state: LoopState = context.get_input()
    state = yield from run_units(context, unit, state, LOOP_GENERATION_TASKS)
    if state["done"]:
        return state
    context.continue_as_new({**state, "generation": state.get("generation", 1) + 1})
    return None
