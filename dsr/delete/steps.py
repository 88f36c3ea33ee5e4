"""The delete steps for one project, each bounded by a number of Training API calls so one activity call
returns within about a minute (10 calls/s) however large the project; call a step again until `done`.

Every step is idempotent: it re-reads what is left instead of trusting earlier calls, and a project, iteration
or item that is already gone (any 404 on a delete; a generic `NotFound` on a read) counts as done. Results are
small JSON dicts with counts, never ids.

The images step, the one that waits for the service, is dsr/delete/image_step.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from customvision import MAX_PREDICTION_IDS, CustomVisionHttpError, IterationPublishedError, TrainingClient
from dsr.delete import scope
from dsr.delete.budget import CallBudget, StepResult, batches, step_result
from dsr.delete.image_step import DEFAULT_MAX_CALLS, DEFAULT_MAX_WAIT, delete_images
from dsr.delete.order import Step


def delete_predictions(
    client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS, older_than: datetime | None = None,
    selection: scope.PredictionSelection | None = None,
) -> StepResult:
    """Delete stored predictions (only those created before `older_than`, or those `selection` takes), oldest
    first."""
    budget, deleted = CallBudget(max_calls), 0
    seen: set[str] = set()  # ids deleted by this call; listed again only while the service catches up
    try:
        while budget.allows(1 + batches(scope.PREDICTION_PAGE, MAX_PREDICTION_IDS)):
            page = scope.first_prediction_page(client, project_id, older_than, selection=selection)
            budget.spend()
            if not page:
                return step_result(Step.PREDICTIONS, deleted, budget, True)
            fresh = [p["id"] for p in page if p["id"] not in seen]
            if not fresh:  # the service has not caught up with our deletes yet: come back later
                break
            client.delete_predictions(project_id, fresh)
            budget.work(batches(len(fresh), MAX_PREDICTION_IDS))
            seen.update(fresh)
            deleted += len(fresh)
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
        return step_result(Step.PREDICTIONS, deleted, budget, True)
    return step_result(Step.PREDICTIONS, deleted, budget, False)


def _one_by_one(
    step: Step, list_ids: Callable[[], list[str]], act: Callable[[str, CallBudget], None], *, max_calls: int,
    cost: int = 1,
) -> StepResult:
    """List ids with one call, then `act` on each (one call, or up to `cost`) while the budget allows."""
    budget, done_count = CallBudget(max_calls), 0
    try:
        ids = list_ids()
        budget.spend()
        for item_id in ids:
            if not budget.allows(cost):
                return step_result(step, done_count, budget, False)
            act(item_id, budget)
            budget.work()
            done_count += 1
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
    return step_result(step, done_count, budget, True)


def unpublish_iterations(client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS) -> StepResult:
    """Unpublish every published iteration (published iterations refuse deletion)."""
    return _one_by_one(
        Step.UNPUBLISH,
        lambda: [it["id"] for it in scope.iterations(client, project_id) if scope.is_published(it)],
        lambda iteration_id, _: client.unpublish_iteration(project_id, iteration_id),
        max_calls=max_calls,
    )


def delete_tags(client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS) -> StepResult:
    """Delete every workspace tag (trained iterations keep their copies until they are deleted)."""
    return _one_by_one(
        Step.TAGS,
        lambda: [tag["id"] for tag in client.list_tags(project_id)],
        lambda tag_id, _: client.delete_tag(project_id, tag_id),
        max_calls=max_calls,
    )


def delete_iterations(client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS) -> StepResult:
    """Delete every iteration (with its performance and exports), unpublishing one that is still published."""

    def delete(iteration_id: str, budget: CallBudget) -> None:
        try:
            client.delete_iteration(project_id, iteration_id)
        except IterationPublishedError:  # published since the unpublish step ran
            client.unpublish_iteration(project_id, iteration_id)
            client.delete_iteration(project_id, iteration_id)
            budget.spend(2)

    return _one_by_one(
        Step.ITERATIONS, lambda: [it["id"] for it in scope.iterations(client, project_id)], delete,
        max_calls=max_calls, cost=3,
    )


def delete_project(client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS) -> StepResult:
    """Delete the project itself (after the other steps; unpublishes first if something is still published)."""
    budget = CallBudget(max_calls)
    try:
        client.get_project(project_id)
        budget.spend()
        try:
            client.delete_project(project_id)
        except IterationPublishedError:
            budget.spend()
            unpublished = unpublish_iterations(client, project_id, max_calls=max(1, budget.limit - budget.used - 1))
            budget.spend(unpublished["calls"])
            client.delete_project(project_id)
        budget.spend()
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
        return step_result(Step.PROJECT, 0, budget, True)
    return step_result(Step.PROJECT, 1, budget, True)


_STEPS: dict[Step, Callable[..., StepResult]] = {
    Step.PREDICTIONS: delete_predictions,
    Step.UNPUBLISH: unpublish_iterations,
    Step.IMAGES: delete_images,
    Step.TAGS: delete_tags,
    Step.ITERATIONS: delete_iterations,
    Step.PROJECT: delete_project,
}


def run_step(
    client: TrainingClient,
    project_id: str,
    step: str,
    *,
    max_calls: int = DEFAULT_MAX_CALLS,
    older_than: datetime | None = None,
    max_wait: float = DEFAULT_MAX_WAIT,
) -> StepResult:
    """Run one call of `step` (a `Step` value); `older_than` applies to predictions only, `max_wait` to images."""
    step = Step(step)
    if step is Step.PREDICTIONS:
        return delete_predictions(client, project_id, max_calls=max_calls, older_than=older_than)
    if step is Step.IMAGES:
        return delete_images(client, project_id, max_calls=max_calls, max_wait=max_wait)
    return _STEPS[step](client, project_id, max_calls=max_calls)
