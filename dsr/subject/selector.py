"""The subject selector: which images (metadata pairs, or ids) and which stored predictions are one person's.

Plain values only. The `$filter` is built here from the values (customvision.odata_filter: quotes doubled,
keys restricted to identifiers), never taken from the caller. `summary()` is what may appear in orchestration
history, status answers and receipts: the kind of selector and the metadata key names, never a value or an id
(a userId is personal data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from customvision import odata_filter
from dsr.times import iso_utc, parse_instant

PREDICTION_PAGE = 256  # QueryPredictions' largest page (the client halves it when refused)


class SubjectSummary(TypedDict):
    """The selector without its values: safe for history, status and receipts."""

    kind: str  # "metadata" | "imageIds"
    keys: list[str]  # metadata key names (e.g. ["userId"]); [] for imageIds
    imageIds: int  # how many ids were given (0 for metadata)
    predictions: bool  # stored predictions are selected too


@dataclass(frozen=True)
class PredictionFilter:
    """Stored predictions of the subject: by the Prediction API's `application` name and/or a time window."""

    application: str | None = None
    start: str | None = None  # `from`, normalized UTC text
    end: str | None = None  # `to`, normalized UTC text

    def query(self) -> dict[str, Any]:
        """The QueryPredictions token that selects them, oldest first."""
        token: dict[str, Any] = {"orderBy": "Oldest", "maxCount": PREDICTION_PAGE}
        if self.application is not None:
            token["application"] = self.application
        if self.start is not None:
            token["startTime"] = self.start
        if self.end is not None:
            token["endTime"] = self.end
        return token

    def selects(self, prediction: Mapping[str, Any]) -> bool:
        """The time window checked again on a result (the service filters by application, which results lack)."""
        created = parse_instant(str(prediction.get("created")))
        return ((self.start is None or created >= parse_instant(self.start))
                and (self.end is None or created <= parse_instant(self.end)))

    def to_dict(self) -> dict[str, str]:
        named = {"application": self.application, "from": self.start, "to": self.end}
        return {k: v for k, v in named.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictionFilter:
        start, end = data.get("from"), data.get("to")
        return cls(application=data.get("application"),
                   start=iso_utc(parse_instant(start)) if start else None,
                   end=iso_utc(parse_instant(end)) if end else None)


@dataclass(frozen=True)
class Subject:
    """Exactly one of `metadata` (every pair must match) or `image_ids`; optionally their stored predictions."""

    metadata: tuple[tuple[str, str], ...] = ()  # sorted by key
    image_ids: tuple[str, ...] = ()  # lower-case, sorted
    predictions: PredictionFilter | None = None

    def __post_init__(self) -> None:
        if bool(self.metadata) == bool(self.image_ids):
            raise ValueError("a subject is selected by metadata or by image ids, exactly one of them")

    @property
    def kind(self) -> str:
        return "metadata" if self.metadata else "imageIds"

    def odata_filter(self) -> str | None:
        """The `$filter` of GetImages/GetImageCount that finds the subject's images (None: found by id)."""
        return odata_filter(dict(self.metadata)) if self.metadata else None

    def summary(self) -> SubjectSummary:
        return SubjectSummary(kind=self.kind, keys=[k for k, _ in self.metadata], imageIds=len(self.image_ids),
                              predictions=self.predictions is not None)

    def to_dict(self) -> dict[str, Any]:
        """Normalized and JSON-native: `{"metadata": {...}}` or `{"imageIds": [...]}`, plus `predictions`."""
        data: dict[str, Any] = ({"metadata": dict(self.metadata)} if self.metadata
                                else {"imageIds": list(self.image_ids)})
        if self.predictions is not None:
            data["predictions"] = self.predictions.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Subject:
        """Read a validated selector (the API's `subject` object, `predictions` beside it or inside)."""
        metadata = data.get("metadata") or {}
        predictions = data.get("predictions")
        return cls(metadata=tuple(sorted((str(k), str(v)) for k, v in metadata.items())),
                   image_ids=tuple(sorted({str(i).lower() for i in data.get("imageIds") or ()})),
                   predictions=PredictionFilter.from_dict(predictions) if predictions else None)
