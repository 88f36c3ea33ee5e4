"""The delete steps for one project, each bounded by a number of Training API calls so one activity call
returns within about a minute (10 calls/s) however large the project; call a step again until `done`.

Every step is idempotent: it re-reads what is left instead of trusting earlier calls (deletes re-list
from `skip=0`, never page past deleted items), and a project, iteration or item that is already gone
counts as done. Results are small JSON dicts with counts, never ids.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypedDict

from customvision import (
    MAX_IMAGE_IDS,
    MAX_PREDICTION_IDS,
    CustomVisionErrorCode,
    CustomVisionHttpError,
    IterationPublishedError,
    TrainingClient,
)
from dsr.delete import scope
from dsr.delete.order import Step

DEFAULT_MAX_CALLS = 300  # about 30 s at 10 calls/s


class StepResult(TypedDict):
    """What one call of a step did; `done` false means "call again" (with `deleted` 0: no progress)."""

    step: str
    deleted: int  # items deleted (or iterations unpublished) by this call
    calls: int  # Training API calls this call made
    done: bool  # nothing of this kind is left


class _Budget:
    """Counts calls against a limit; the first unit of work is always allowed, so every call makes progress."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("max_calls must be at least 1")
        self.limit = limit
        self.used = 0
        self.progressed = False

    def spend(self, n: int = 1) -> None:
        """Calls that only read."""
        self.used += n

    def work(self, n: int = 1) -> None:
        """Calls that deleted (or unpublished) something."""
        self.used += n
        self.progressed = True

    def allows(self, n: int) -> bool:
        return not self.progressed or self.used + n <= self.limit


def _result(step: Step, deleted: int, budget: _Budget, done: bool) -> StepResult:
    return StepResult(step=str(step), deleted=deleted, calls=budget.used, done=done)


def _batches(count: int, size: int) -> int:
    return -(-count // size)


def delete_predictions(
    client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS, older_than: datetime | None = None
) -> StepResult:
    """Delete stored predictions (only those created before `older_than` when given), oldest first."""
    budget, deleted = _Budget(max_calls), 0
    seen: set[str] = set()  # ids deleted by this call; listed again only while the service catches up
    try:
        while budget.allows(1 + _batches(scope.PREDICTION_PAGE, MAX_PREDICTION_IDS)):
            page = scope.first_prediction_page(client, project_id, older_than)
            budget.spend()
            if not page:
                return _result(Step.PREDICTIONS, deleted, budget, True)
            fresh = [p["id"] for p in page if p["id"] not in seen]
            if not fresh:  # the service has not caught up with our deletes yet: come back later
                break
            client.delete_predictions(project_id, fresh)
            budget.work(_batches(len(fresh), MAX_PREDICTION_IDS))
            seen.update(fresh)
            deleted += len(fresh)
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
        return _result(Step.PREDICTIONS, deleted, budget, True)
    return _result(Step.PREDICTIONS, deleted, budget, False)


def _one_by_one(
    step: Step, list_ids: Callable[[], list[str]], act: Callable[[str, _Budget], None], *, max_calls: int, cost: int = 1
) -> StepResult:
    """List ids with one call, then `act` on each (one call, or up to `cost`) while the budget allows."""
    budget, done_count = _Budget(max_calls), 0
    try:
        ids = list_ids()
        budget.spend()
        for item_id in ids:
            if not budget.allows(cost):
                return _result(step, done_count, budget, False)
            act(item_id, budget)
            budget.work()
            done_count += 1
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
    return _result(step, done_count, budget, True)


def unpublish_iterations(client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS) -> StepResult:
    """Unpublish every published iteration (published iterations refuse deletion)."""
    return _one_by_one(
        Step.UNPUBLISH,
        lambda: [it["id"] for it in scope.iterations(client, project_id) if scope.is_published(it)],
        lambda iteration_id, _: client.unpublish_iteration(project_id, iteration_id),
        max_calls=max_calls,
    )


def delete_images(client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS) -> StepResult:
    """Delete every image of the workspace, then whatever each trained iteration alone still holds.

    Each round lists the first page (`skip=0`) of a set and deletes those ids with `allIterations=true`,
    so a workspace image also leaves every snapshot; iteration sets then hold only iteration-only images.
    """
    budget, deleted, caught_up = _Budget(max_calls), 0, True
    seen: set[str] = set()
    try:
        sets: list[str | None] = [None, *scope.snapshot_ids(scope.iterations(client, project_id))]
        budget.spend()
        for iteration_id in sets:
            while True:
                if not budget.allows(2):
                    return _result(Step.IMAGES, deleted, budget, False)
                page = _first_image_page(client, project_id, iteration_id)
                budget.spend()
                fresh = [image["id"] for image in page if image["id"] not in seen]
                if not fresh:
                    caught_up = caught_up and not page  # listed ids we already deleted: not applied yet
                    break
                client.delete_images(project_id, fresh, all_iterations=True)
                budget.work(_batches(len(fresh), MAX_IMAGE_IDS))
                seen.update(fresh)
                deleted += len(fresh)
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
        return _result(Step.IMAGES, deleted, budget, True)
    return _result(Step.IMAGES, deleted, budget, caught_up)


def _first_image_page(client: TrainingClient, project_id: str, iteration_id: str | None) -> list[Any]:
    """Page `skip=0` of one image set; an iteration deleted meanwhile holds nothing."""
    try:
        return list(client.list_images_page(project_id, skip=0, take=MAX_IMAGE_IDS, iteration_id=iteration_id))
    except CustomVisionHttpError as exc:
        if iteration_id is not None and scope.is_gone(exc, CustomVisionErrorCode.NOT_FOUND_ITERATION):
            return []
        raise


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

    def delete(iteration_id: str, budget: _Budget) -> None:
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
    budget = _Budget(max_calls)
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
        return _result(Step.PROJECT, 0, budget, True)
    return _result(Step.PROJECT, 1, budget, True)


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
) -> StepResult:
    """Run one call of `step` (a `Step` value); `older_than` applies to predictions only."""
    step = Step(step)
    if step is Step.PREDICTIONS:
        return delete_predictions(client, project_id, max_calls=max_calls, older_than=older_than)
    return _STEPS[step](client, project_id, max_calls=max_calls)


# Cancellation: a cancelled request must make no further Training API delete, even though the activity
# (or sub-orchestration) calling it keeps running after a terminate on Azure.

DESTRUCTIVE_CALLS = frozenset({"delete_predictions", "unpublish_iteration", "delete_images", "delete_tag",
                               "delete_iteration", "delete_project"})


class GuardedClient:
    """A client that runs `check()` before each destructive call; `check` raises to stop the step."""

    def __init__(self, client: TrainingClient, check: Callable[[], None]) -> None:
        self._client = client
        self._check = check

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name not in DESTRUCTIVE_CALLS:
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            self._check()
            return attr(*args, **kwargs)

        return guarded
