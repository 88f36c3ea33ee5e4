"""Find one data subject in one project: how many of their images each set holds, which trained models learned
from them, and how many of their stored predictions there are.

Calls, per project: GetIterations, one count per set (the workspace and every iteration, `$filter` or ids), then
listings only of the sets that hold the subject's images (256 a page) to count distinct images, and pages of
QueryPredictions when predictions are selected. Nothing here lists a set's other images.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypedDict

from customvision import CustomVisionHttpError, TrainingClient, owned_pages
from dsr.delete import scope
from dsr.export.listing import ImageListing, set_count
from dsr.subject.selector import Subject

PAGE = 256


class ModelImpact(TypedDict):
    """A trained iteration whose snapshot held at least one of the subject's images: its model learned from them."""

    iterationId: str
    name: str | None
    status: str | None
    publishName: str | None  # published under this name (prediction endpoints serve it), or None
    images: int  # the subject's images in its snapshot


class Finding(TypedDict):
    """One project's search, written to the scratch area (never to history): counts and iteration ids only."""

    projectId: str
    exists: bool
    workspace: int  # the subject's images in the workspace
    iterations: dict[str, int]  # iteration id -> the subject's images in its snapshot
    images: int  # distinct images of the subject anywhere in the project
    predictions: int | None  # selected stored predictions (None: not selected)
    modelImpact: list[ModelImpact]


def find(client: TrainingClient, project_id: str, subject: Subject, listing: ImageListing) -> Finding:
    """Search one project; a project that is gone is reported as not existing (nothing found)."""
    try:
        return _find(client, project_id, subject, listing)
    except CustomVisionHttpError as exc:
        if scope.is_gone(exc):
            return Finding(projectId=project_id, exists=False, workspace=0, iterations={}, images=0,
                           predictions=0 if subject.predictions else None, modelImpact=[])
        raise


def _find(client: TrainingClient, project_id: str, subject: Subject, listing: ImageListing) -> Finding:
    iterations = scope.iterations(client, project_id)
    workspace = set_count(client, project_id, None, listing)
    counts = {it["id"]: set_count(client, project_id, it["id"], listing) for it in iterations}
    ids: set[str] = set()
    for iteration_id, count in [(None, workspace), *counts.items()]:
        if count:
            ids.update(image["id"] for image in set_images(client, project_id, iteration_id, listing))
    impact = [ModelImpact(iterationId=it["id"], name=it.get("name"), status=it.get("status"),
                          publishName=it.get("publishName") or None, images=counts[it["id"]])
              for it in iterations if counts[it["id"]]]
    predictions = count_predictions(client, project_id, subject) if subject.predictions else None
    return Finding(projectId=project_id, exists=True, workspace=workspace, iterations=counts, images=len(ids),
                   predictions=predictions, modelImpact=impact)


def set_images(client: TrainingClient, project_id: str, iteration_id: str | None,
               listing: ImageListing) -> Iterator[dict[str, Any]]:
    """Every image of the listing in one set, each once (ties in `created` taken whole: customvision.owned_pages)."""

    def fetch(skip: int, take: int) -> list[dict[str, Any]]:
        return scope.set_page(client, project_id, iteration_id, skip, take, listing)

    for page in owned_pages(fetch, 0, None, take=PAGE):
        yield from page


def selection(subject: Subject) -> scope.PredictionSelection:
    """The QueryPredictions token and the check of each result for the subject's stored predictions."""
    if subject.predictions is None:
        raise ValueError("the subject selects no stored predictions")
    return subject.predictions.query(), subject.predictions.selects


def count_predictions(client: TrainingClient, project_id: str, subject: Subject) -> int:
    """The subject's stored predictions in the project (pages of 256)."""
    query, keep = selection(subject)
    return sum(1 for prediction in client.query_predictions(project_id, query) if keep(prediction))
