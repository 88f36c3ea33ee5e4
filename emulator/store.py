"""The rules of the Training API over the in-memory model: image sets, training, publishing, deletes."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from emulator import errors
from emulator.model import Image, Iteration, Project, StoredBlob, Tag
from emulator.realism import shuffled_ties

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def image_blobs(images: Iterable[Image]) -> list[StoredBlob]:
    """Every distinct blob behind `images` (an image's three renditions may share one blob)."""
    seen: dict[str, StoredBlob] = {}
    for image in images:
        for blob in (image.original, image.resized, image.thumbnail):
            seen[blob.name] = blob
    return list(seen.values())


def ordered(images: Iterable[Image], order_by: str, ties: random.Random | None = None) -> list[Image]:
    """Newest (default) or Oldest first. Images sharing a `created` come in a new random order on every call when
    `ties` is given (as the service's do), else by id (stable paging, unit tests only)."""
    newest = order_by != "Oldest"
    if ties is None:
        return sorted(images, key=lambda i: (i.created, i.id), reverse=newest)
    return shuffled_ties(sorted(images, key=lambda i: i.created, reverse=newest), lambda i: i.created, ties)


def select(
    images: Iterable[Image],
    *,
    tagging: str = "All",
    tag_ids: set[str] | None = None,
    where: Callable[[dict[str, str]], bool] | None = None,
) -> list[Image]:
    """Images matching a tagging status (All/Tagged/Untagged), any of `tag_ids`, and a metadata predicate."""
    out = []
    for image in images:
        tags = image.tag_ids()
        if (tagging == "Tagged" and not tags) or (tagging == "Untagged" and tags):
            continue
        if tag_ids and not tags & tag_ids:
            continue
        if where is not None and not where(image.metadata):
            continue
        out.append(image)
    return out


class Store:
    """All projects of one Custom Vision resource, plus the operations that change them."""

    def __init__(
        self, projects: Iterable[Project] = (), *, clock: Clock = utcnow, ids: Callable[[], str] = new_id
    ) -> None:
        self.projects: dict[str, Project] = {p.id: p for p in projects}
        self.clock = clock
        self.ids = ids

    # -- lookups -----------------------------------------------------------------------------
    def project(self, project_id: str) -> Project:
        try:
            return self.projects[project_id]
        except KeyError:
            raise errors.project_not_found(project_id) from None

    def iteration(self, project: Project, iteration_id: str) -> Iteration:
        try:
            return project.iterations[iteration_id]
        except KeyError:
            raise errors.iteration_not_found(iteration_id) from None

    def image_set(self, project: Project, iteration_id: str | None) -> dict[str, Image]:
        """The workspace, or the snapshot an iteration was trained on."""
        if iteration_id is None:
            return project.images
        return self.iteration(project, iteration_id).images

    def tag_set(self, project: Project, iteration_id: str | None) -> dict[str, Tag]:
        if iteration_id is None:
            return project.tags
        return self.iteration(project, iteration_id).tags

    def image_count(self) -> int:
        return sum(len(p.image_ids_anywhere()) for p in self.projects.values())

    # -- projects ----------------------------------------------------------------------------
    def delete_project(self, project_id: str) -> list[StoredBlob]:
        """Remove a project; refused while any iteration is published. Returns blobs to delete."""
        project = self.project(project_id)
        published = [i for i in project.iterations.values() if i.published]
        if published:
            raise errors.bad_request(
                "BadRequestIterationIsPublished",
                f"Cannot delete project: iteration {published[0].id} is published. Unpublish it first.",
            )
        blobs = image_blobs(project.images.values())
        for iteration in project.iterations.values():
            blobs += image_blobs(iteration.images.values())
            blobs += [e.blob for e in iteration.exports if e.blob is not None]
        for prediction in project.predictions.values():
            blobs += [prediction.original, prediction.resized, prediction.thumbnail]
        del self.projects[project_id]
        return list({b.name: b for b in blobs}.values())

    # -- iterations --------------------------------------------------------------------------
    def train(self, project: Project, *, force: bool = False) -> Iteration:
        """Snapshot the workspace into a new, completed iteration."""
        if not any(image.tag_ids() for image in project.images.values()):
            raise errors.bad_request("BadRequestTrainingValidationFailed", "Not enough tagged images to train.")
        latest = max(project.iterations.values(), key=lambda i: i.created, default=None)
        if latest is not None and latest.workspace_version == project.workspace_version and not force:
            raise errors.bad_request("BadRequestTrainingNotNeeded", "Nothing changed since the last training.")
        now = self.clock()
        iteration = Iteration(
            id=self.ids(),
            name=f"Iteration {len(project.iterations) + 1}",
            created=now,
            last_modified=now,
            trained_at=now,
            training_time_minutes=1,
            images={i.id: i.copy() for i in project.images.values()},
            tags={t.id: Tag(**vars(t)) for t in project.tags.values()},
            workspace_version=project.workspace_version,
        )
        project.iterations[iteration.id] = iteration
        return iteration

    def publish(self, project: Project, iteration_id: str, publish_name: str, resource_id: str) -> None:
        iteration = self.iteration(project, iteration_id)
        if not publish_name.strip():
            raise errors.bad_request("BadRequestInvalidPublishName", "The publish name is empty.")
        iteration.publish_name = publish_name
        iteration.publish_resource_id = resource_id
        iteration.last_modified = self.clock()

    def unpublish(self, project: Project, iteration_id: str) -> None:
        iteration = self.iteration(project, iteration_id)
        if not iteration.published:
            raise errors.bad_request("BadRequestIterationNotPublished", f"Iteration {iteration_id} is not published.")
        iteration.publish_name = ""
        iteration.publish_resource_id = ""
        iteration.last_modified = self.clock()

    def delete_iteration(self, project: Project, iteration_id: str) -> list[StoredBlob]:
        """Remove an iteration unless published; returns blobs no set references any more."""
        iteration = self.iteration(project, iteration_id)
        if iteration.published:
            raise errors.bad_request(
                "BadRequestIterationIsPublished", f"Iteration {iteration_id} is published. Unpublish it first."
            )
        del project.iterations[iteration_id]
        blobs = self._orphaned(project, iteration.images.values())
        return blobs + [e.blob for e in iteration.exports if e.blob is not None]

    # -- tags --------------------------------------------------------------------------------
    def delete_tag(self, project: Project, tag_id: str) -> None:
        """Remove a tag from the workspace and its images; trained iterations keep theirs."""
        if tag_id not in project.tags:
            raise errors.tag_not_found(tag_id)
        del project.tags[tag_id]
        for image in project.images.values():
            image.tags = [t for t in image.tags if t.tag_id != tag_id]
            image.regions = [r for r in image.regions if r.tag_id != tag_id]
        self._touch(project)

    # -- images ------------------------------------------------------------------------------
    def add_image(self, project: Project, image: Image) -> None:
        project.images[image.id] = image
        self._touch(project)

    def delete_images(self, project: Project, image_ids: list[str] | None, *, all_iterations: bool) -> list[StoredBlob]:
        """Delete the given (or, with None, all) images from the workspace, and from iterations if asked."""
        sets = [project.images]
        if all_iterations:
            sets += [i.images for i in project.iterations.values()]
        removed: dict[str, Image] = {}
        for image_set in sets:
            ids = list(image_set) if image_ids is None else [i for i in image_ids if i in image_set]
            for image_id in ids:
                removed[image_id] = image_set.pop(image_id)
        if removed:
            self._touch(project)
        return self._orphaned(project, removed.values())

    # -- predictions -------------------------------------------------------------------------
    def delete_predictions(self, project: Project, ids: list[str]) -> list[StoredBlob]:
        blobs: list[StoredBlob] = []
        for prediction_id in ids:
            prediction = project.predictions.pop(prediction_id, None)
            if prediction is not None:
                blobs += [prediction.original, prediction.resized, prediction.thumbnail]
        return list({b.name: b for b in blobs}.values())

    # -- helpers -----------------------------------------------------------------------------
    def touch(self, project: Project) -> None:
        """The workspace changed (a training is needed to snapshot it)."""
        self._touch(project)

    def _touch(self, project: Project) -> None:
        project.workspace_version += 1
        project.last_modified = self.clock()

    @staticmethod
    def _orphaned(project: Project, images: Iterable[Image]) -> list[StoredBlob]:
        """Blobs of `images` that no workspace or iteration of the project still holds."""
        alive = project.image_ids_anywhere()
        return image_blobs(i for i in images if i.id not in alive)
