"""Before anything is deleted: counts per category for one project (also the whole answer of a dry run).

Only what the requested categories need is counted (stored predictions can only be counted by paging
QueryPredictions, 256 a call); counts of categories not requested are None. Images are counted per set:
the workspace and every trained iteration's snapshot, because an image can survive in an iteration alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import TypedDict

from customvision import CustomVisionHttpError, TrainingClient
from dsr.categories import Category
from dsr.delete import scope


class ProjectPlan(TypedDict):
    """Counts for one project; JSON-native and small (ids of iterations only, never of images)."""

    projectId: str
    exists: bool
    iterations: int  # every iteration (each has its own performance and exports)
    publishedIterations: int
    workspaceImages: int | None
    iterationImages: dict[str, int] | None  # iteration id -> images in its snapshot
    tags: int | None  # workspace tags
    iterationTags: int | None  # tag copies kept by trained iterations (DeleteTag leaves them)
    predictions: int | None  # stored predictions (older than the cutoff, when one is given)


_IMAGES = {Category.IMAGES, Category.PROJECTS}
_TAGS = {Category.TAGS, Category.PROJECTS}
_PREDICTIONS = {Category.PREDICTIONS, Category.PROJECTS}


def empty_plan(project_id: str) -> ProjectPlan:
    """The plan of a project that does not exist (already deleted): nothing anywhere."""
    return ProjectPlan(projectId=project_id, exists=False, iterations=0, publishedIterations=0, workspaceImages=0,
                       iterationImages={}, tags=0, iterationTags=0, predictions=0)


ImageCounter = Callable[[TrainingClient, str, str | None], int]  # (client, project, iteration or None) -> images


def plan_project(
    client: TrainingClient, project_id: str, categories: Iterable[str], *, older_than: datetime | None = None,
    count_images: ImageCounter = scope.image_count,
) -> ProjectPlan:
    """Count what deleting `categories` would remove from the project (each image set by `count_images`); a missing
    project plans as empty."""
    wanted = {Category(c) for c in categories}
    try:
        return _count(client, project_id, wanted, older_than, count_images)
    except CustomVisionHttpError as exc:
        if scope.is_gone(exc):
            return empty_plan(project_id)
        raise


def _count(client: TrainingClient, project_id: str, wanted: set[Category], older_than: datetime | None,
           count_images: ImageCounter) -> ProjectPlan:
    iterations = scope.iterations(client, project_id)
    snapshots = scope.snapshot_ids(iterations)
    plan = ProjectPlan(
        projectId=project_id,
        exists=True,
        iterations=len(iterations),
        publishedIterations=sum(1 for it in iterations if scope.is_published(it)),
        workspaceImages=None,
        iterationImages=None,
        tags=None,
        iterationTags=None,
        predictions=None,
    )
    counts: dict[tuple[str, str | None], Callable[[], int]] = {}
    if wanted & _IMAGES:
        counts.update({("images", i): partial(count_images, client, project_id, i) for i in [None, *snapshots]})
    if wanted & _TAGS:
        counts.update({("tags", i): partial(_tag_count, client, project_id, i) for i in [None, *snapshots]})
    if wanted & _PREDICTIONS:
        counts["predictions", None] = lambda: sum(
            1 for _ in scope.qualifying_predictions(client, project_id, older_than))
    found = scope.side_by_side(counts)
    if wanted & _IMAGES:
        plan["workspaceImages"] = found["images", None]
        plan["iterationImages"] = {i: found["images", i] for i in snapshots}
    if wanted & _TAGS:
        plan["tags"] = found["tags", None]
        plan["iterationTags"] = sum(found["tags", i] for i in snapshots)
    if wanted & _PREDICTIONS:
        plan["predictions"] = found["predictions", None]
    return plan


def _tag_count(client: TrainingClient, project_id: str, iteration_id: str | None) -> int:
    return len(list(client.list_tags(project_id, iteration_id=iteration_id)))


def category_counts(plan: ProjectPlan, categories: Iterable[str]) -> dict[str, int | None]:
    """Per requested category, how many items the plan found (None: not countable in the project).

    `images` counts image copies: the workspace plus every iteration snapshot (one image may be in several);
    `tags` counts workspace tags plus the copies trained iterations keep.
    """
    counts: dict[str, int | None] = {}
    if plan.get("exists") is None:  # the plan itself failed: nothing is known
        return {str(Category(c)): None for c in categories}
    for category in map(Category, categories):
        counts[str(category)] = _category_count(plan, category)
    return counts


def _category_count(plan: ProjectPlan, category: Category) -> int | None:
    if category is Category.PROJECTS:
        return int(plan["exists"])
    if category in (Category.ITERATIONS, Category.ITERATION_PERFORMANCE):
        return plan["iterations"]
    if category is Category.IMAGES:
        sets = plan["iterationImages"]
        if plan["workspaceImages"] is None or sets is None:
            return None
        return plan["workspaceImages"] + sum(sets.values())
    if category is Category.TAGS:
        if plan["tags"] is None:
            return None
        return plan["tags"] + (plan["iterationTags"] or 0)
    if category is Category.PREDICTIONS:
        return plan["predictions"]
    return None  # account, exported_models: not project data that can be counted here
