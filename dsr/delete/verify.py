"""After deleting: ask the service again what is left of the requested categories, and say it plainly.

Counts come from the same code as the plan (workspace and every remaining iteration), plus a listing
probe of each image set, so a count that disagrees with a listing can never hide an image.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from customvision import CustomVisionErrorCode, CustomVisionHttpError, TrainingClient
from dsr.categories import Category
from dsr.delete import scope
from dsr.delete.plan import ProjectPlan, category_counts, plan_project


class Verification(TypedDict):
    """What is left of one project; `clean` only when every counted category is at zero."""

    projectId: str
    remaining: dict[str, int | None]  # requested category -> items left (None: not countable here)
    clean: bool
    notes: list[str]  # why something is left, in words with counts only (no names, no image ids)
    counts: ProjectPlan


def verify_project(
    client: TrainingClient, project_id: str, categories: Iterable[str], *, older_than: datetime | None = None
) -> Verification:
    """Re-count the requested categories; a deleted project verifies clean for everything in it."""
    categories = [str(Category(c)) for c in categories]
    counts = plan_project(client, project_id, categories, older_than=older_than)
    if counts["exists"] and counts["workspaceImages"] is not None:
        _probe_listings(client, counts)
    remaining = category_counts(counts, categories)
    return Verification(
        projectId=project_id,
        remaining=remaining,
        clean=all(not n for n in remaining.values()),
        notes=_notes(counts, remaining),
        counts=counts,
    )


def _probe_listings(client: TrainingClient, counts: ProjectPlan) -> None:
    """Raise a set's count to 1 when its listing shows an image although the count said none."""
    project_id = counts["projectId"]
    sets = counts["iterationImages"] or {}
    try:
        if not counts["workspaceImages"] and client.list_images_page(project_id, skip=0, take=1):
            counts["workspaceImages"] = 1
        for iteration_id, n in sets.items():
            if not n and client.list_images_page(project_id, skip=0, take=1, iteration_id=iteration_id):
                sets[iteration_id] = 1
    except CustomVisionHttpError as exc:
        if not (scope.is_gone(exc) or scope.is_gone(exc, CustomVisionErrorCode.NOT_FOUND_ITERATION)):
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
