"""Sub-orchestrator exporting one project: every requested category, images fanned out in chunks."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from activities import exported_models, images, iterations, predictions, projects, tags
from dsr.categories import Category
from dsr.envelope import failed
from orchestrators.calls import (
    GUARDED_CALL_TASKS,
    LoopState,
    bounded_loop,
    call_guarded,
    continued_loop,
    gather,
)

bp = df.Blueprint()

CHUNK_WINDOW = 32  # image chunks in flight per project (a loop unit: 32 x 480 positions of a set)
CHUNK_ATTEMPTS = 4  # tries of a chunk whose failure may pass (as ACTIVITY_RETRY: the orchestrator retries)
CHUNK_RETRY_SECONDS = 5  # wait before another round of failed chunks


@bp.orchestration_trigger(context_name="context")
def export_project_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    return export_project_flow(context)


def export_project_flow(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    """Input `{requestId, resource, projectId, categories}`; output `{category: CategoryResult}`."""
    job = context.get_input()
    base = {"requestId": job["requestId"], "resource": job["resource"], "projectId": job["projectId"]}
    wanted = set(job["categories"])
    results: dict[str, Any] = {}

    if Category.PROJECTS in wanted:
        results[Category.PROJECTS] = yield from call_guarded(context, projects.export_project, base)
    iteration_categories = [c for c in (Category.ITERATIONS, Category.ITERATION_PERFORMANCE) if c in wanted]
    if iteration_categories:
        payload = {**base, "categories": iteration_categories, "performance": Category.ITERATION_PERFORMANCE in wanted}
        result = yield from call_guarded(context, iterations.export_iterations, payload)
        for category in iteration_categories:
            results[category] = result if "status" in result else result[category]  # a failure covers both
    if Category.TAGS in wanted:
        results[Category.TAGS] = yield from call_guarded(context, tags.export_tags, base)
    if Category.EXPORTED_MODELS in wanted:
        results[Category.EXPORTED_MODELS] = yield from call_guarded(context, exported_models.export_models, base)
    if Category.IMAGES in wanted:
        results[Category.IMAGES] = yield from export_images(context, base)
    if Category.PREDICTIONS in wanted:
        results[Category.PREDICTIONS] = yield from export_predictions(context, base)
    return {str(k): v for k, v in results.items()}


def export_images(context: Any, base: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Plan the image sets, export every chunk in windows of CHUNK_WINDOW (a bounded loop: the windows beyond the
    first ones run in the sub-orchestration `{instance}:images`, continued as new), then finalize.

    Chunks are plain activity calls that report failures in their result; the orchestrator retries the
    retryable ones of a window itself (a Durable retry inside a task_all would fail the whole fan-out at its first
    exhausted child while the others still run). Every chunk runs even when one fails for good, and a chunk
    that failed for good never fails the category: finalize checks every set against its count and lists
    again what is missing.
    """
    plan = yield from call_guarded(context, images.plan_images, base)
    if plan["status"] != "complete":
        return plan
    total = sum(image_set["chunks"] for image_set in plan["sets"])
    state = {"base": base, "sets": plan["sets"], "next": 0, "total": total, "failedChunks": 0, "done": total == 0}
    yield from bounded_loop(context, image_window, state, export_image_chunks_orchestrator, "images")
    return (yield from call_guarded(context, images.finalize_images, {**base, "sets": plan["sets"]}))


@bp.orchestration_trigger(context_name="context")
def export_image_chunks_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """The image windows of one project beyond those its export_project ran, a generation at a time."""
    return continued_loop(context, image_window)


def image_window(context: Any, state: LoopState) -> Generator[Any, Any, tuple[LoopState, int]]:
    """One loop unit: the next CHUNK_WINDOW chunks (in set order), retried up to CHUNK_ATTEMPTS times while their
    failure may pass; `(state, tasks awaited)`. A chunk that still fails is counted in `failedChunks`."""
    start = state["next"]
    end = min(start + CHUNK_WINDOW, state["total"])
    pending = _chunks(state["sets"], start, end)
    tasks_awaited = 0
    failed_for_good = 0
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        tasks = [context.call_activity(images.export_image_chunk, {**state["base"], "set": s, "chunk": c})
                 for s, c in pending]
        tasks_awaited += len(tasks)
        settled = yield from gather(context, tasks)
        retry = []
        for work, (ok, result) in zip(pending, settled, strict=True):
            outcome = result if ok else {**failed("ActivityFailed", result), "retryable": True}
            if outcome["status"] == "failed":
                if outcome.get("retryable") and attempt < CHUNK_ATTEMPTS:
                    retry.append(work)
                else:
                    failed_for_good += 1
        if not retry:
            break
        pending = retry
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=CHUNK_RETRY_SECONDS))
        tasks_awaited += 1
    state = {**state, "next": end, "done": end >= state["total"],
             "failedChunks": state["failedChunks"] + failed_for_good}
    return state, tasks_awaited


def _chunks(sets: list[dict[str, Any]], start: int, end: int) -> list[tuple[dict[str, Any], int]]:
    """Chunks `start`..`end - 1` of the sets' chunks taken in order (the workspace's, then each iteration's)."""
    found: list[tuple[dict[str, Any], int]] = []
    offset = 0
    for image_set in sets:
        first, last = max(start - offset, 0), min(end - offset, image_set["chunks"])
        found.extend((image_set, chunk) for chunk in range(first, last))
        offset += image_set["chunks"]
    return found


def export_predictions(context: Any, base: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Follow the query's continuation token chunk by chunk (a bounded loop: beyond the first chunks in the
    sub-orchestration `{instance}:predictions`, continued as new), then concatenate."""
    state = {"base": base, "chunk": 0, "token": None, "result": None, "done": False}
    state = yield from bounded_loop(context, prediction_chunk, state, export_prediction_chunks_orchestrator,
                                    "predictions")
    if state.get("error"):
        return dict(failed(state["error"]["code"], state["error"]["message"]))
    if state["result"] is not None:
        return state["result"]
    return (yield from call_guarded(context, predictions.finalize_predictions, {**base, "chunks": state["chunk"]}))


@bp.orchestration_trigger(context_name="context")
def export_prediction_chunks_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """The prediction chunks of one project beyond those its export_project ran, a generation at a time."""
    return continued_loop(context, prediction_chunk)


def prediction_chunk(context: Any, state: LoopState) -> Generator[Any, Any, tuple[LoopState, int]]:
    """One loop unit: one chunk from the continuation token on; a failed chunk ends the loop with its `result`."""
    result = yield from call_guarded(context, predictions.export_prediction_chunk,
                                     {**state["base"], "chunk": state["chunk"], "token": state["token"]})
    if result["status"] != "complete":
        return {**state, "result": result, "done": True}, GUARDED_CALL_TASKS
    token = result.get("token")
    return {**state, "chunk": state["chunk"] + 1, "token": token, "done": not token}, GUARDED_CALL_TASKS
