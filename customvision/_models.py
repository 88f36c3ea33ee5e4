"""Thin TypedDicts over the service's JSON (camelCase, as sent): fields are typed, nothing is dropped."""

from typing import Any, Literal, NotRequired, TypedDict

OrderBy = Literal["Newest", "Oldest"]
TaggingStatus = Literal["All", "Tagged", "Untagged"]


class Project(TypedDict, total=False):
    """Project."""

    id: str
    name: str
    description: str | None
    settings: dict[str, Any]
    created: str
    lastModified: str
    thumbnailUri: str
    drModeEnabled: bool | None
    status: str


class Iteration(TypedDict, total=False):
    """Iteration; `publishName` is set while it is published."""

    id: str
    name: str
    status: str
    created: str
    lastModified: str
    trainedAt: str | None
    projectId: str
    exportable: bool
    exportableTo: list[str]
    domainId: str | None
    classificationType: str | None
    trainingType: str
    reservedBudgetInHours: int
    trainingTimeInMinutes: int
    publishName: str
    originalPublishResourceId: str


class Tag(TypedDict, total=False):
    """Tag."""

    id: str
    name: str
    description: str | None
    type: str
    imageCount: int


class _ImageFields(TypedDict, total=False):
    """What an image and an image's performance both carry."""

    id: str
    created: str
    width: int
    height: int
    thumbnailUri: str
    tags: list[dict[str, Any]] | None
    regions: list[dict[str, Any]] | None


class Image(_ImageFields, total=False):
    """Image with its download URIs (SAS URLs), tags, regions and metadata."""

    resizedImageUri: str
    originalImageUri: str
    metadata: dict[str, str] | None


class ImagePerformance(_ImageFields, total=False):
    """ImagePerformance."""

    imageUri: str
    predictions: list[dict[str, Any]] | None


class IterationPerformance(TypedDict, total=False):
    """IterationPerformance."""

    perTagPerformance: list[dict[str, Any]]
    precision: float
    precisionStdDeviation: float
    recall: float
    recallStdDeviation: float
    averagePrecision: float | None


class Export(TypedDict, total=False):
    """Export of a trained iteration (a model file to download)."""

    platform: str
    status: str
    downloadUri: str
    flavor: str | None
    newerVersionAvailable: bool


class StoredImagePrediction(TypedDict, total=False):
    """A prediction kept by the service, with its image URIs."""

    id: str
    project: str
    iteration: str
    domain: str
    created: str
    resizedImageUri: str
    thumbnailUri: str
    originalImageUri: str
    predictions: list[dict[str, Any]]


class PredictionQueryToken(TypedDict, total=False):
    """QueryPredictions body; the service returns the next one with `continuation` set."""

    session: str
    continuation: str
    maxCount: int
    orderBy: str
    tags: list[dict[str, Any]]
    iterationId: NotRequired[str | None]
    startTime: NotRequired[str | None]
    endTime: NotRequired[str | None]
    application: str


class ProjectExport(TypedDict, total=False):
    """ExportProject result: counts and a token to import the project elsewhere."""

    iterationCount: int
    imageCount: int
    tagCount: int
    regionCount: int
    estimatedImportTimeInMS: int
    token: str
