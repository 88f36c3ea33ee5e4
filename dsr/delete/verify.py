"""After deleting: ask the service again what is left of the requested categories, and say it plainly.

Counts come from the same code as the plan (workspace and every remaining iteration), plus a listing
probe of each image set, so a count that disagrees with a listing can never hide an image.

DeleteImages with allIterations answers 202 and deletes later (docs/real-service.md): while images are still
listed, verification counts again after 2, 4, 8... seconds (each count paced by the client's rate limit), up to
`max_wait` seconds; past it, the notes say how many images each set still lists.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import TypedDict

from customvision import CustomVisionHttpError, TrainingClient
from dsr.categories import Category
from dsr.delete import scope
from dsr.delete.plan import ProjectPlan, category_counts, plan_project
from dsr.export.listing import EVERY_IMAGE


class Verification(TypedDict):
    """What is left of one project; `clean` only when every counted category is at zero."""

    projectId: str
    remaining: dict[str, int | None]  # requested category -> items left (None: not countable here)
    clean: bool
    notes: list[str]  # why something is left, in words with counts only (no names, no image ids)
    counts: ProjectPlan


DEFAULT_MAX_WAIT = 120.0  # seconds verification waits for a 202 DeleteImages to take effect
CANCELLED_MAX_WAIT = 14.0  # a cancelled request: only the DeleteImages sent before the cancel are awaited


def verify_project(
    client: TrainingClient, project_id: str, categories: Iterable[str], *, older_than: datetime | None = None,
    max_wait: float = DEFAULT_MAX_WAIT,
) -> Verification:
    """Re-count the requested categories; a deleted project verifies clean for everything in it. While images
    remain, count again with backoff (2, 4, 8... s) for up to `max_wait` seconds: the service deletes them late."""
    categories = [str(Category(c)) for c in categories]
    deadline = time.monotonic() + max_wait
    delay = 2.0
    waited = 0.0
    while True:
        counts, remaining = _count(client, project_id, categories, older_than)
        if not remaining.get(Category.IMAGES) or time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        waited += delay
        delay = min(delay * 2, 30.0)
    notes = _notes(counts, remaining)
    if remaining.get(Category.IMAGES):
        notes.insert(0, _images_left(counts, waited))
    return Verification(
        projectId=project_id,
        remaining=remaining,
        clean=all(not n for n in remaining.values()),
        notes=notes,
        counts=counts,
    )


def _count(
    client: TrainingClient, project_id: str, categories: list[str], older_than: datetime | None
) -> tuple[ProjectPlan, dict[str, int | None]]:
    counts = plan_project(client, project_id, categories, older_than=older_than)
    if counts["exists"] and counts["workspaceImages"] is not None:
        _probe_listings(client, counts)
    return counts, category_counts(counts, categories)


def _images_left(counts: ProjectPlan, waited: float) -> str:
    """Exactly which image sets still list images, in counts (no ids: the receipt holds no personal data)."""
    sets = []
    if counts["workspaceImages"]:
        sets.append(f"{counts['workspaceImages']} in the workspace")
    sets += [f"{n} in iteration {i}" for i, n in (counts["iterationImages"] or {}).items() if n]
    return (f"images still listed after waiting {waited:.0f} s (DeleteImages is asynchronous: it answers 202 and "
            f"deletes later): {', '.join(sets)}")


def _probe_listings(client: TrainingClient, counts: ProjectPlan) -> None:
    """Raise a set's count to 1 when its listing shows an image although the count said none (the sets probed
    side by side)."""
    project_id = counts["projectId"]
    sets = counts["iterationImages"] or {}
    silent = [i for i, n in [(None, counts["workspaceImages"]), *sets.items()] if not n]
    listed = scope.side_by_side({i: partial(_lists_an_image, client, project_id, i) for i in silent})
    if None in listed and listed[None] is None:  # the project is gone: nothing to probe
        return
    for iteration_id, shows in listed.items():
        if shows and iteration_id is None:
            counts["workspaceImages"] = 1
        elif shows:
            sets[iteration_id] = 1


def _lists_an_image(client: TrainingClient, project_id: str, iteration_id: str | None) -> bool | None:
    """Whether the set's first page lists an image; None when the project is gone."""
    try:
        return bool(scope.set_page(client, project_id, iteration_id, 0, 1, EVERY_IMAGE))
    except CustomVisionHttpError as exc:
        if scope.is_gone(exc):
            return None
        raise


def _notes(counts: ProjectPlan, remaining: dict[str, int | None]) -> list[str]:
    notes = []
    if remaining.get(Category.TAGS) and counts["iterationTags"]:
        notes.append(f"{counts['iterationTags']} tag copies remain in trained iterations; "
                     "they are removed when the iterations are deleted")
    if remaining.get(Category.IMAGES) and any((counts["iterationImages"] or {}).values()):
        held = sum((counts["iterationImages"] or {}).values())
        notes.append(f"{held} image copies remain in iteration snapshots")
    if counts["publishedIterations"] and any(
        remaining.get(c) for c in (Category.ITERATIONS, Category.ITERATION_PERFORMANCE, Category.PROJECTS)
    ):
        notes.append(f"{counts['publishedIterations']} iterations are still published")
    for category, n in remaining.items():
        if n:
            notes.append(f"{category}: {n} left")
    return notes
