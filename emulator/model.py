"""The emulator's in-memory data model: plain dataclasses mirroring what the service keeps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

# The service's well-known domain ids (General classification, General object detection).
CLASSIFICATION_DOMAIN = "ee85a74c-405e-4adc-bb47-ffa8ca0c9f31"
DETECTION_DOMAIN = "da2e3a8a-40a5-4171-82f4-58522f70fbc1"


class ProjectKind(StrEnum):
    """What a project predicts; decides regions and bounding boxes."""

    CLASSIFICATION = "Classification"
    OBJECT_DETECTION = "ObjectDetection"


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a `Z`, as the service writes dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class StoredBlob:
    """Bytes kept in Blob storage: name inside the emulator's prefix, size and hash of the real bytes."""

    name: str
    size: int
    sha256: str
    content_type: str


@dataclass
class Tag:
    id: str
    name: str
    description: str | None
    type: str  # Regular | Negative | GeneralProduct
    created: datetime


@dataclass(frozen=True)
class ImageTag:
    tag_id: str
    created: datetime


@dataclass(frozen=True)
class Region:
    id: str
    tag_id: str
    left: float
    top: float
    width: float
    height: float
    created: datetime


def image_blob_name(project_id: str, image_id: str, rendition: str) -> str:
    """Where the service keeps an image's bytes: container `i-<project hex>`, blob `<o|i|t>-<image hex>` (the
    relative URIs of GetArtifacts.json are these names); `o` the full-size original, `i` resized, `t` thumbnail."""
    return f"i-{project_id.replace('-', '')}/{rendition}-{image_id.replace('-', '')}"


@dataclass
class Image:
    """One image as a set (workspace or an iteration) holds it; iterations keep their own copies.

    `width`/`height` are what the service lists: the resized copy's size. The original can be larger."""

    id: str
    created: datetime
    width: int
    height: int
    original: StoredBlob
    resized: StoredBlob
    thumbnail: StoredBlob
    original_size: tuple[int, int]  # pixel size of the original's bytes
    tags: list[ImageTag] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    def copy(self) -> Image:
        """A snapshot copy whose tag, region and metadata lists are independent of this one."""
        return dataclasses.replace(self, tags=list(self.tags), regions=list(self.regions), metadata=dict(self.metadata))

    def tag_ids(self) -> set[str]:
        """Tags applied to the image, directly or through a region."""
        return {t.tag_id for t in self.tags} | {r.tag_id for r in self.regions}


@dataclass
class Export:
    platform: str
    flavor: str | None
    status: str  # Exporting | Failed | Done
    blob: StoredBlob | None
    created: datetime


@dataclass
class Iteration:
    id: str
    name: str
    created: datetime
    last_modified: datetime
    trained_at: datetime
    training_time_minutes: int
    images: dict[str, Image]
    tags: dict[str, Tag]
    publish_name: str = ""
    publish_resource_id: str = ""
    exports: list[Export] = field(default_factory=list)
    workspace_version: int = 0
    status: str = "Completed"  # Completed | Failed (a failed training holds no image snapshot)

    @property
    def published(self) -> bool:
        return bool(self.publish_name)


@dataclass(frozen=True)
class PredictedTag:
    tag_id: str
    tag_name: str
    probability: float
    box: tuple[float, float, float, float] | None  # left, top, width, height


@dataclass
class StoredPrediction:
    id: str
    iteration_id: str
    created: datetime
    original: StoredBlob
    resized: StoredBlob
    thumbnail: StoredBlob
    predictions: list[PredictedTag]
    application: str = ""  # the Prediction API's `application` parameter; QueryPredictions filters on it


@dataclass
class Project:
    id: str
    name: str
    description: str
    kind: ProjectKind
    created: datetime
    last_modified: datetime
    tags: dict[str, Tag] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)  # the workspace
    iterations: dict[str, Iteration] = field(default_factory=dict)
    predictions: dict[str, StoredPrediction] = field(default_factory=dict)
    workspace_version: int = 0  # bumped by every workspace change; training needs a new one
    pending_deletes: int = 0  # image ids a 202 DeleteImages accepted that are still listed

    @property
    def domain_id(self) -> str:
        return DETECTION_DOMAIN if self.kind is ProjectKind.OBJECT_DETECTION else CLASSIFICATION_DOMAIN

    @property
    def classification_type(self) -> str | None:
        return "Multilabel" if self.kind is ProjectKind.CLASSIFICATION else None

    def image_ids_anywhere(self) -> set[str]:
        """Every image id the project holds, in the workspace or in any iteration."""
        ids = set(self.images)
        for iteration in self.iterations.values():
            ids.update(iteration.images)
        return ids
