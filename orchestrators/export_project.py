"""Sub-orchestrator exporting one project: every requested category, images fanned out in chunks."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from activities import exported_models, images, iterations, predictions, projects, tags
from dsr.categories import Category
from dsr.envelope import failed
from orchestrators.calls import call_guarded, gather

bp = df.Blueprint()

CHUNK_WINDOW = 32  # image chunks in flight per project (32 x 2,048 images)
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
    """Plan the image sets, export every chunk in windows of CHUNK_WINDOW, retry the failed ones, then finalize.

    Chunks are plain activity calls that report failures in their result; the orchestrator retries the
    retryable ones itself (a Durable retry inside a task_all would fail the whole fan-out at its first
    exhausted child while the others still run). Every chunk runs even when one fails for good, and a chunk
    that failed for good never fails the category: finalize checks every set against its count and lists
    again what is missing.
    """
    plan = yield from call_guarded(context, images.plan_images, base)
    if plan["status"] != "complete":
        return plan
    work = [(image_set, chunk) for image_set in plan["sets"] for chunk in range(image_set["chunks"])]
    pending = list(range(len(work)))
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        retry: list[int] = []
        for start in range(0, len(pending), CHUNK_WINDOW):
            window = pending[start : start + CHUNK_WINDOW]
            tasks = [context.call_activity(images.export_image_chunk, {**base, "set": work[i][0], "chunk": work[i][1]})
                     for i in window]
            settled = yield from gather(context, tasks)
            for i, (ok, result) in zip(window, settled, strict=True):
                outcome = result if ok else {**failed("ActivityFailed", result), "retryable": True}
                if outcome["status"] == "failed" and outcome.get("retryable"):
                    retry.append(i)
        if not retry or attempt == CHUNK_ATTEMPTS:
            break
        pending = retry
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=CHUNK_RETRY_SECONDS))
    return (yield from call_guarded(context, images.finalize_images, {**base, "sets": plan["sets"]}))


def export_predictions(context: Any, base: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Follow the query's continuation token chunk by chunk, then concatenate."""
    token = None
    chunk = 0
    while True:
        result = yield from call_guarded(
            context, predictions.export_prediction_chunk, {**base, "chunk": chunk, "token": token}
        )
        if result["status"] != "complete":
            return result
        chunk += 1
        token = result.get("token")
        if not token:
            break
    return (yield from call_guarded(context, predictions.finalize_predictions, {**base, "chunks": chunk}))
