"""The images step of a delete: list every image set, then DeleteImages with allIterations=true, 256 ids a call.

DeleteImages answers 202 and the images stay listed and counted for a while (docs/real-service.md): so the step
lists first and deletes after (positions do not move under a listing), and before it returns it waits (bounded)
until what it deleted is no longer listed, so the next call neither deletes it again nor counts it twice. When
to look again is learnt from the first batches the service applies (dsr/delete/lag.py).
"""

from __future__ import annotations

import threading
import time
from functools import partial

from customvision import MAX_IMAGE_IDS, CustomVisionHttpError, TrainingClient, chunks, owned_pages
from dsr.delete import scope
from dsr.delete.budget import CallBudget, StepResult, batches, step_result
from dsr.delete.lag import DeleteLag
from dsr.delete.order import Step
from dsr.export.listing import EVERY_IMAGE, ImageListing

DEFAULT_MAX_CALLS = 300  # about 30 s at 10 calls/s
DEFAULT_MAX_WAIT = 60.0  # seconds the images step waits for its 202 deletes to take effect before it returns
MIN_POLL = 0.25  # seconds between two looks at a deleted set; later, 15% of the time waited so far (up to 8 s):
POLL_SHARE = 0.15  # the wait overshoots the service's lag by at most that share, in a few calls (until it is learnt)


def delete_images(
    client: TrainingClient, project_id: str, *, max_calls: int = DEFAULT_MAX_CALLS, max_wait: float = DEFAULT_MAX_WAIT,
    listing: ImageListing = EVERY_IMAGE,
) -> StepResult:
    """Delete every image of the workspace and whatever an iteration alone still holds.

    Every set (the workspace and each iteration, side by side) is listed to its end, or as far as the budget allows
    with room left to delete what was found; the distinct ids are then deleted with `allIterations=true` (a
    workspace image also leaves every snapshot). The call then waits, up to `max_wait` seconds, until the workspace
    and every iteration that held images the workspace did not list them no more, and goes round again if one still
    lists something. `done` only when those list nothing (verification lists every set again). With a subject's
    `listing`, every listing is of that person's images only, so nothing else is ever deleted."""
    budget = CallBudget(max_calls)
    deleted = 0
    try:
        sets: list[str | None] = [None, *scope.snapshot_ids(scope.iterations(client, project_id))]
        budget.spend()
        while True:
            found, complete, holding = _collect(client, project_id, sets, budget, listing)
            if complete and not found:
                return step_result(Step.IMAGES, deleted, budget, True)
            answered = _delete(client, project_id, found, budget)
            deleted += len(found)
            # the workspace may gain uploads meanwhile; an iteration's snapshot only loses images
            first_pages = _settle(client, project_id, [None, *holding], answered, budget, max_wait, listing)
            if first_pages is None or not complete:  # the next call starts clean, or deletes what is still listed
                return step_result(Step.IMAGES, deleted, budget, False)
            if not any(first_pages):
                return step_result(Step.IMAGES, deleted, budget, True)
            if not budget.allows(2):  # listed again after the wait: images added meanwhile
                return step_result(Step.IMAGES, deleted, budget, False)
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
        return step_result(Step.IMAGES, deleted, budget, True)


class _OutOfBudget(Exception):
    """One more page would leave too little of the call budget to delete what is found."""


def _collect(client: TrainingClient, project_id: str, sets: list[str | None], budget: CallBudget,
             listing: ImageListing) -> tuple[list[str], bool, list[str | None]]:
    """The distinct ids the sets list (the workspace's first); whether every set was listed to its end; and the
    iterations that listed an image the workspace did not (the others' images leave them with the workspace's:
    allIterations takes an image out of every set at once). A page is listed only if the budget still has room for
    it and for deleting all the ids found and being listed (the very first page always is). The sets are listed side
    by side (each in order, ties in `created` taken whole from one listing: customvision.owned_pages), so the rate
    limit, not one call's round trip, sets the pace."""
    found: dict[str, None] = {}  # every id listed so far (for the budget)
    per_set: dict[str | None, list[str]] = {i: [] for i in sets}
    in_flight = 0
    turn = threading.Condition()

    def list_set(iteration_id: str | None) -> bool:
        def page(skip: int, take: int) -> list[dict]:
            nonlocal in_flight
            with turn:
                while True:
                    deletes = batches(len(found) + (in_flight + 1) * MAX_IMAGE_IDS, MAX_IMAGE_IDS)
                    if not (found or in_flight) or budget.used + 1 + deletes <= budget.limit:
                        break
                    if found:
                        raise _OutOfBudget
                    turn.wait()  # nothing found yet: the pages in flight tell whether this one is the first
                budget.spend()
                in_flight += 1
            images: list[dict] = []
            try:
                images = scope.set_page(client, project_id, iteration_id, skip, take, listing)
                return images
            finally:
                with turn:
                    found.update(dict.fromkeys(image["id"] for image in images))
                    in_flight -= 1
                    turn.notify_all()

        try:
            for images in owned_pages(page, take=MAX_IMAGE_IDS):
                per_set[iteration_id] += [image["id"] for image in images]
        except _OutOfBudget:
            return False
        return True

    complete = all(scope.side_by_side({i: partial(list_set, i) for i in sets}).values())
    ordered = dict.fromkeys(image_id for i in sets for image_id in per_set[i])
    in_workspace = set(per_set[None])
    return list(ordered), complete, [i for i in sets[1:] if not in_workspace.issuperset(per_set[i])]


def _delete(client: TrainingClient, project_id: str, image_ids: list[str], budget: CallBudget,
            ) -> list[tuple[list[str], float]]:
    """DeleteImages with allIterations, 256 ids a call, a few calls at once (the rate limiter paces them); each
    call's ids, in order, with the monotonic time it was answered."""
    batches_of_ids = list(chunks(image_ids, MAX_IMAGE_IDS))

    def delete(batch: list[str]) -> float:
        client.delete_images(project_id, batch, all_iterations=True)
        return time.monotonic()

    answered = scope.side_by_side({n: partial(delete, batch) for n, batch in enumerate(batches_of_ids)})
    budget.work(len(batches_of_ids))
    return [(batch, answered[n]) for n, batch in enumerate(batches_of_ids)]


def _settle(client: TrainingClient, project_id: str, sets: list[str | None], answered: list[tuple[list[str], float]],
            budget: CallBudget, max_wait: float, listing: ImageListing) -> list[list[str]] | None:
    """Wait (up to `max_wait` in all) until no set's first page lists a deleted id (`answered`: the DeleteImages
    calls' ids and answer times); the first pages' ids then, or None past `max_wait`. The sets still listing one are
    looked at again when the lag learnt says all should be applied, or else 0.25 s, or 15% of the time waited so
    far, after the last look began. Until the workspace is clear or the lag is learnt, only the workspace is looked
    at; then every set still listing a deleted id, side by side. While any deleted image is still listed one is on
    its set's first page: the set lists nothing else it had when the step listed it."""
    started = time.monotonic()
    deadline = started + max_wait
    deleted = {image_id for batch, _ in answered for image_id in batch}
    lag = DeleteLag(answered)
    clear: dict[str | None, list[str]] = {}  # the first page of each set that no longer lists a deleted id

    def look(iteration_id: str | None, looked: float) -> None:
        page = [image["id"] for image in scope.set_page(client, project_id, iteration_id, 0, MAX_IMAGE_IDS, listing)]
        budget.spend()
        if deleted.intersection(page):
            lag.observe(page, looked, time.monotonic(), ordered=iteration_id is None)
        else:
            clear[iteration_id] = page

    while True:
        looked = time.monotonic()
        pending = [i for i in sets if i not in clear]  # the workspace first
        watched = pending if sets[0] in clear or lag.expected() is not None else pending[:1]
        scope.side_by_side({i: partial(look, i, looked) for i in watched})
        if all(i in clear for i in sets):
            return [clear[i] for i in sets]
        if watched == [sets[0]] and sets[0] in clear:
            continue  # the workspace is clear: the iterations are looked at now
        expected = lag.expected()
        wake = expected if expected is not None and expected > looked else (
            looked + min(max(MIN_POLL, POLL_SHARE * (looked - started)), 8.0))
        if wake > deadline:
            return None
        time.sleep(max(0.0, wake - time.monotonic()))
