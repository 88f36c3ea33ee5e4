"""The images step of a delete: DeleteImages with allIterations=true over every image set, 256 ids a call.

DeleteImages answers 202 and the images stay listed and counted for a while (docs/real-service.md): the step
pages past the ones it has already deleted, and before it returns it waits (bounded) until they are gone, so
the next call neither deletes them again nor counts them twice.
"""

from __future__ import annotations

import time

from customvision import MAX_IMAGE_IDS, CustomVisionHttpError, TrainingClient, created_runs
from dsr.delete import scope
from dsr.delete.budget import CallBudget, StepResult, batches, step_result
from dsr.delete.order import Step
from dsr.export.listing import EVERY_IMAGE, ImageListing

DEFAULT_MAX_CALLS = 300  # about 30 s at 10 calls/s
DEFAULT_MAX_WAIT = 60.0  # seconds the images step waits for its 202 deletes to take effect before it returns


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
    budget = CallBudget(max_calls)
    seen: set[str] = set()  # ids this call has deleted
    try:
        sets: list[str | None] = [None, *scope.snapshot_ids(scope.iterations(client, project_id))]
        budget.spend()
        while True:
            for iteration_id in sets:
                if not _sweep(client, project_id, iteration_id, seen, budget, listing):
                    _settle(client, project_id, sets, seen, budget, max_wait, listing)  # the next call starts clean
                    return step_result(Step.IMAGES, len(seen), budget, False)
            first_pages = _settle(client, project_id, sets, seen, budget, max_wait, listing)
            if first_pages is None:  # still listed after max_wait: the next call deletes what is left
                return step_result(Step.IMAGES, len(seen), budget, False)
            if not any(first_pages):
                return step_result(Step.IMAGES, len(seen), budget, True)
            if not budget.allows(2):
                return step_result(Step.IMAGES, len(seen), budget, False)
    except CustomVisionHttpError as exc:
        if not scope.is_gone(exc):
            raise
        return step_result(Step.IMAGES, len(seen), budget, True)


def _sweep(client: TrainingClient, project_id: str, iteration_id: str | None, seen: set[str], budget: CallBudget,
           listing: ImageListing) -> bool:
    """Delete every id of one set not in `seen` (adding them); False when the budget ran out first.

    A full page's last tie in `created` may go on past it, in another order at every call: its ids are left for
    the listing that starts where that tie starts, which holds it whole (customvision.owned_pages)."""
    skip = 0
    while True:
        if not budget.allows(2):
            return False
        page = scope.set_page(client, project_id, iteration_id, skip, MAX_IMAGE_IDS, listing)
        budget.spend()
        runs = created_runs(page)
        full = len(page) >= MAX_IMAGE_IDS
        settled = page[: runs[-1][0]] if full and len(runs) > 1 else page
        fresh = [image["id"] for image in settled if image["id"] not in seen]
        if fresh:
            client.delete_images(project_id, fresh, all_iterations=True)
            budget.work(batches(len(fresh), MAX_IMAGE_IDS))
            seen.update(fresh)
            continue  # the same position again: applied at once it shows the next images, deferred it shows ours
        if not full:
            return True
        skip += len(settled)  # images deleted but still listed (202: deleted later): page past them


def _settle(client: TrainingClient, project_id: str, sets: list[str | None], seen: set[str], budget: CallBudget,
            max_wait: float, listing: ImageListing) -> list[list[str]] | None:
    """Wait (1, 2, 4... s, up to `max_wait` in all) until no set's first page lists an id this call deleted; the
    first pages' ids then, or None past `max_wait`. A set is swept from its oldest image on and everything swept is
    deleted, so while any of those is still listed one is on the set's first page (a set the budget did not reach
    may hold some deeper down: the next call deletes those again, and counts them again)."""
    deadline = time.monotonic() + max_wait
    delay = 1.0
    while True:
        pages = [[image["id"] for image in scope.set_page(client, project_id, i, 0, MAX_IMAGE_IDS, listing)]
                 for i in sets]
        budget.spend(len(sets))
        if not any(image_id in seen for page in pages for image_id in page):
            return pages
        if time.monotonic() + delay > deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 8.0)
