"""The delete steps for one project, each bounded by a number of Training API calls so one activity call
returns within about a minute (10 calls/s) however large the project; call a step again until `done`.

Every step is idempotent: it re-reads what is left instead of trusting earlier calls, and a project, iteration
or item that is already gone (any 404 on a delete; a generic `NotFound` on a read) counts as done. Results are
small JSON dicts with counts, never ids.

DeleteImages with allIterations answers 202 and the images stay listed and counted for a while
(docs/real-service.md): the images step pages past the ones it has already deleted, and before it returns it
waits (bounded) until they are gone, so the next call neither deletes them again nor counts them twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypedDict

from customvision import (
    MAX_IMAGE_IDS,
    MAX_PREDICTION_IDS,
    CustomVisionHttpError,
    IterationPublishedError,
    TrainingClient,
    created_runs,
)
from dsr.delete import scope
from dsr.delete.order import Step
from dsr.export.listing import EVERY_IMAGE, ImageListing

DEFAULT_MAX_CALLS = 300  # about 30 s at 10 calls/s
DEFAULT_MAX_WAIT = 60.0  # seconds the images step waits for its 202 deletes to take effect before it returns


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
    client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS, older_than: datetime | None = None,
    selection: scope.PredictionSelection | None = None,
) -> StepResult:
    """Delete stored predictions (only those created before `older_than`, or those `selection` takes), oldest
    first."""
    budget, deleted = _Budget(max_calls), 0
    seen: set[str] = set()  # ids deleted by this call; listed again only while the service catches up
    try:
        while budget.allows(1 + _batches(scope.PREDICTION_PAGE, MAX_PREDICTION_IDS)):
            page = scope.first_prediction_page(client, project_id, older_than, selection=selection)
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


def delete_images(
    client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS, max_wait: float = DEFAULT_MAX_WAIT,
    listing: ImageListing = EVERY_IMAGE,
) -> StepResult:
    """Delete every image of the workspace, then whatever each iteration alone still holds.

    Each set is swept from its first page: the ids not yet deleted by this call are deleted with
    `allIterations=true` (so a workspace image also leaves every snapshot) and the same position is listed again;
    a page holding only ids this call deleted but the service still lists (202: deleted later) is paged past.
    Then the call waits, with backoff up to `max_wait` seconds, until the service no longer lists them, and
    sweeps again if anything new shows. `done` only when every set lists nothing. With a subject's `listing`,
    every listing is of that person's images only, so nothing else is ever deleted."""
    budget = _Budget(max_calls)
    seen: set[str] = set()  # ids this call has deleted
    try:
        sets: list[str | None] = [None, *scope.snapshot_ids(scope.iterations(client, project_id))]
        budget.spend()
        while True:
            for iteration_id in sets:
                if not _sweep(client, project_id, iteration_id, seen, budget, listing):
                    _settle(client, project_id, sets, seen, budget, max_wait, listing)  # the next call starts clean
                    return _result(Step.IMAGES, len(seen), budget, False)
            first_pages = _settle(client, project_id, sets, seen, budget, max_wait, listing)
            if first_pages is None:  # still listed after max_wait: the next call deletes what is left
                return _result(Step.IMAGES, len(seen), budget, False)
            if not any(first_pages):
                return _result(Step.IMAGES, len(seen), budget, True)
            if not budget.allows(2):
                return _result(Step.IMAGES, len(seen), budget, False)
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
        return _result(Step.IMAGES, len(seen), budget, True)


def _sweep(client: TrainingClient, project_id: str, iteration_id: str | None, seen: set[str], budget: _Budget,
           listing: ImageListing) -> bool:
    """Delete every id of one set not in `seen` (adding them); False when the budget ran out first.

    A full page's last tie in `created` may go on past it, in another order at every call: its ids are left for
    the listing that starts where that tie starts, which holds it whole (customvision.owned_pages)."""
    skip = 0
    while True:
        if not budget.allows(2):
            return False
        page = _image_page(client, project_id, iteration_id, skip, listing)
        budget.spend()
        runs = created_runs(page)
        full = len(page) >= MAX_IMAGE_IDS
        settled = page[: runs[-1][0]] if full and len(runs) > 1 else page
        fresh = [image["id"] for image in settled if image["id"] not in seen]
        if fresh:
            client.delete_images(project_id, fresh, all_iterations=True)
            budget.work(_batches(len(fresh), MAX_IMAGE_IDS))
            seen.update(fresh)
            continue  # the same position again: applied at once it shows the next images, deferred it shows ours
        if not full:
            return True
        skip += len(settled)  # images deleted but still listed (202: deleted later): page past them


def _settle(client: TrainingClient, project_id: str, sets: list[str | None], seen: set[str], budget: _Budget,
            max_wait: float, listing: ImageListing) -> list[list[str]] | None:
    """Wait (1, 2, 4... s, up to `max_wait` in all) until no set's first page lists an id this call deleted; the
    first pages' ids then, or None past `max_wait`. A set is swept from its oldest image on and everything swept is
    deleted, so while any of those is still listed one is on the set's first page (a set the budget did not reach
    may hold some deeper down: the next call deletes those again, and counts them again)."""
    deadline = time.monotonic() + max_wait
    delay = 1.0
    while True:
        pages = [[image["id"] for image in _image_page(client, project_id, i, 0, listing)] for i in sets]
        budget.spend(len(sets))
        if not any(image_id in seen for page in pages for image_id in page):
            return pages
        if time.monotonic() + delay > deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 8.0)


def _image_page(client: TrainingClient, project_id: str, iteration_id: str | None, skip: int,
                listing: ImageListing) -> list[Any]:
    """One page of one image set; an iteration deleted meanwhile (or one the service will not list) holds nothing."""
    try:
        return listing.page(client, project_id, iteration_id, skip, MAX_IMAGE_IDS)
    except CustomVisionHttpError as exc:
        if iteration_id is not None and scope.is_refused_set(exc):
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
    max_wait: float = DEFAULT_MAX_WAIT,
) -> StepResult:
    """Run one call of `step` (a `Step` value); `older_than` applies to predictions only, `max_wait` to images."""
    step = Step(step)
    if step is Step.PREDICTIONS:
        return delete_predictions(client, project_id, max_calls=max_calls, older_than=older_than)
    if step is Step.IMAGES:
        return delete_images(client, project_id, max_calls=max_calls, max_wait=max_wait)
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
