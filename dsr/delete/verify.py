"""After deleting: ask the service again what is left of the requested categories, and say it plainly.

Counts come from the same code as the plan (workspace and every remaining iteration), except that each image set
is listed first (one image): a set that lists nothing is empty, one that lists an image is counted (at least 1), so
a count that disagrees with the listing can never hide an image, and a clean set costs one call.

DeleteImages with allIterations answers 202 and deletes later (docs/real-service.md): while images are still
listed, verification counts again after 2, 4, 8... seconds (each count paced by the client's rate limit), up to
`max_wait` seconds; past it, the notes say how many images each set still lists.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from customvision import TrainingClient
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
    counts = plan_project(client, project_id, categories, older_than=older_than, count_images=_listed_count)
    return counts, category_counts(counts, categories)


def _listed_count(client: TrainingClient, project_id: str, iteration_id: str | None) -> int:
    """0 when the set's listing shows no image (the proof); else its GetImageCount, at least 1."""
    if not scope.set_page(client, project_id, iteration_id, 0, 1, EVERY_IMAGE):
        return 0
    return max(1, scope.image_count(client, project_id, iteration_id))


def _images_left(counts: ProjectPlan, waited: float) -> str:
    """Exactly which image sets still list images, in counts (no ids: the receipt holds no personal data)."""
    sets = []
    if counts["workspaceImages"]:
        sets.append(f"{counts['workspaceImages']} in the workspace")
    sets += [f"{n} in iteration {i}" for i, n in (counts["iterationImages"] or {}).items() if n]
    return (f"images still listed after waiting {waited:.0f} s (DeleteImages is asynchronous: it answers 202 and "
            f"deletes later): {', '.join(sets)}")


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
