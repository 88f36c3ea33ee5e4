"""One data subject's images of a set, as a listing the export, the delete and the verification share.

By metadata: GetImages and GetImageCount with the `$filter` built from the selector (one count per set; pages of
256 only where the subject has images), never a listing of every image. By id: GetImagesByIds per set (256 ids a
call), oldest first like a listing; the service may refuse a batch holding an id the set lacks
(docs/real-service.md #5): the batch is then split until the refused ids are isolated.
"""

from __future__ import annotations

from typing import Any

from customvision import MAX_IMAGE_IDS, CustomVisionErrorCode, CustomVisionHttpError, TrainingClient, time_key
from dsr.export.listing import ImageListing
from dsr.layout import resource_root
from dsr.subject.selector import Subject


class ListingNotSelective(RuntimeError):
    """The service answered a subject's listing with an image that is not the subject's (a `$filter` it ignored or
    read otherwise, ids it was not asked for): nothing is exported or deleted from such an answer."""

    error_code = "ListingNotSelective"
    status_code = 422  # permanent: asking again gets the same answer (dsr.envelope.is_permanent)


class MetadataListing(ImageListing):
    """The images whose metadata holds every pair of the selector."""

    workspace_copies = False  # a workspace copy's metadata may differ from a snapshot's: copy what matched

    def __init__(self, metadata: tuple[tuple[str, str], ...], odata_filter: str, root: str) -> None:
        self.metadata = metadata
        self.filter = odata_filter
        self.root = root

    def count(self, client: TrainingClient, project_id: str, iteration_id: str | None) -> int:
        return client.get_image_count(project_id, iteration_id=iteration_id, filter=self.filter)

    def page(self, client: TrainingClient, project_id: str, iteration_id: str | None, skip: int,
             take: int) -> list[dict[str, Any]]:
        page = list(client.list_images_page(project_id, skip=skip, take=take, iteration_id=iteration_id,
                                            order_by="Oldest", filter=self.filter))
        for image in page:  # every image listed carries its metadata: check the service applied the filter
            metadata = image.get("metadata") or {}
            if any(metadata.get(key) != value for key, value in self.metadata):
                raise ListingNotSelective(f"GetImages with $filter listed image {image.get('id')} whose metadata "
                                          "does not match it; nothing is taken from this answer")
        return page


class IdListing(ImageListing):
    """The images with the selector's ids that a set holds, oldest first (then by id)."""

    workspace_copies = False

    def __init__(self, image_ids: tuple[str, ...], root: str) -> None:
        self.image_ids = image_ids
        self.root = root

    def found(self, client: TrainingClient, project_id: str, iteration_id: str | None) -> list[dict[str, Any]]:
        images: list[dict[str, Any]] = []
        for start in range(0, len(self.image_ids), MAX_IMAGE_IDS):
            images += _lookup(client, project_id, list(self.image_ids[start:start + MAX_IMAGE_IDS]), iteration_id)
        asked = set(self.image_ids)
        if any(str(image.get("id")).lower() not in asked for image in images):
            raise ListingNotSelective("GetImagesByIds answered an image that was not asked for")
        return sorted(images, key=lambda image: (time_key(image["created"]), image["id"]))

    def count(self, client: TrainingClient, project_id: str, iteration_id: str | None) -> int:
        return len(self.found(client, project_id, iteration_id))

    def page(self, client: TrainingClient, project_id: str, iteration_id: str | None, skip: int,
             take: int) -> list[dict[str, Any]]:
        return self.found(client, project_id, iteration_id)[skip:skip + take]


def _lookup(client: TrainingClient, project_id: str, ids: list[str], iteration_id: str | None) -> list[dict[str, Any]]:
    """GetImagesByIds for one batch; a refused batch is halved until the ids the set lacks are left out."""
    try:
        return list(client.list_images_by_ids(project_id, ids, iteration_id=iteration_id))
    except CustomVisionHttpError as exc:
        project_gone = exc.error_code == CustomVisionErrorCode.NOT_FOUND_PROJECT
        if exc.status_code not in (400, 404) or project_gone:
            raise
        if exc.status_code == 404 or len(ids) == 1:
            return []  # an iteration the service will not list holds none; a lone refused id is not there
        half = len(ids) // 2
        return (_lookup(client, project_id, ids[:half], iteration_id)
                + _lookup(client, project_id, ids[half:], iteration_id))


def listing_for(subject: Subject, alias: str) -> ImageListing:
    """The subject's listing in one resource, files under `resources/{alias}/`."""
    odata = subject.odata_filter()
    root = resource_root(alias)
    if odata is not None:
        return MetadataListing(subject.metadata, odata, root)
    return IdListing(subject.image_ids, root)
