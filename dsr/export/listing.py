"""Which images of a project an image export lists, and under which folder their files go.

The export of a whole resource lists every image of each set (DESIGN.md §4: `projects/{projectId}/...`). A data
subject's export lists only that person's images (dsr/subject/listing.py: a metadata `$filter`, or their ids)
and writes them under `resources/{alias}/`. Everything else (tie-safe chunks, copies, merge, COCO) is the same.
"""

from __future__ import annotations

from typing import Any

from customvision import CustomVisionErrorCode, CustomVisionHttpError, TrainingClient


class ImageListing:
    """Every image of a set, files under the request prefix itself."""

    root = ""  # prefix of every path this listing's export writes, relative to the request prefix
    workspace_copies = True  # iteration pages leave images the workspace also holds to the workspace's chunks

    def path(self, path: str) -> str:
        """`path` (a project file, or a scratch part) under this listing's root."""
        return f"{self.root}{path}"

    def count(self, client: TrainingClient, project_id: str, iteration_id: str | None) -> int:
        """GetImageCount of one set."""
        return client.get_image_count(project_id, iteration_id=iteration_id)

    def page(self, client: TrainingClient, project_id: str, iteration_id: str | None, skip: int,
             take: int) -> list[dict[str, Any]]:
        """One page of one set, oldest first."""
        return list(client.list_images_page(project_id, skip=skip, take=take, iteration_id=iteration_id,
                                            order_by="Oldest"))


EVERY_IMAGE = ImageListing()


def set_count(client: TrainingClient, project_id: str, iteration_id: str | None,
              listing: ImageListing = EVERY_IMAGE) -> int:
    """The count of one set; an iteration the service will not list (gone, or not trained) holds none."""
    try:
        return listing.count(client, project_id, iteration_id)
    except CustomVisionHttpError as exc:
        refused = exc.status_code in (400, 404) and exc.error_code != CustomVisionErrorCode.NOT_FOUND_PROJECT
        if iteration_id is not None and refused:
            return 0
        raise
