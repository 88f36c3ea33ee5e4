"""Model objects as the Training API's JSON, with SAS links (or, for some images, GetArtifact paths) for bytes.

With realism on (the default) every shape is the recorded one (docs/real-service.md): image and tag times without
a zone and with up to 7 fractional digits, empty tags/regions/metadata left out, `publishName` null when
unpublished, relative URIs for a share of images. Off, the simple shapes: ISO times with Z, nulls, SAS URLs only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator.model import (
    Export,
    Image,
    Iteration,
    PredictedTag,
    Project,
    ProjectKind,
    Region,
    StoredBlob,
    StoredPrediction,
    Tag,
    iso,
)
from emulator.realism import Realism, UriForm, dotnet_time

OFF = Realism.off()

Json = dict[str, Any]
Link = Callable[[StoredBlob], str]  # blob -> read-only SAS URL


def _time(moment: datetime, realism: Realism, *, zone: bool) -> str:
    return dotnet_time(moment, zone=zone) if realism.enabled else iso(moment)


def project(p: Project, link: Link, realism: Realism = OFF) -> Json:
    thumb = min(p.images.values(), key=lambda i: (i.created, i.id), default=None)
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "settings": {
            "domainId": p.domain_id,
            "classificationType": p.classification_type,
            "targetExportPlatforms": [],
            "useNegativeSet": p.kind is ProjectKind.CLASSIFICATION,
            "detectionParameters": "",
            "imageProcessingSettings": {"augmentationMethods": {}},
        },
        "created": _time(p.created, realism, zone=True),
        "lastModified": _time(p.last_modified, realism, zone=True),
        "thumbnailUri": link(thumb.thumbnail) if thumb else (None if realism.enabled else ""),
        "drModeEnabled": False,
        "status": "Succeeded",
    }


def tag(t: Tag, image_count: int) -> Json:
    return {"id": t.id, "name": t.name, "description": t.description, "type": t.type, "imageCount": image_count}


def _region(r: Region, tags: dict[str, Tag], realism: Realism) -> Json:
    return {
        "regionId": r.id,
        "tagName": _tag_name(r.tag_id, tags),
        "created": _time(r.created, realism, zone=False),
        "tagId": r.tag_id,
        "left": r.left,
        "top": r.top,
        "width": r.width,
        "height": r.height,
    }


def _tag_name(tag_id: str, tags: dict[str, Tag]) -> str:
    found = tags.get(tag_id)
    return found.name if found else ""


def relative_uri(blob: StoredBlob) -> str:
    """The GetArtifact path of an image blob: `/i-<project hex>/<o|i|t>-<image hex>` (GetArtifacts.json)."""
    return "/" + blob.name


def image(i: Image, tags: dict[str, Tag], link: Link, realism: Realism = OFF) -> Json:
    """An `Image`. Realistic: times without zone, empty tags/regions/metadata left out, a share of images with
    relative URIs (all three, or only the original). Off: ISO times, empty lists as null, SAS URLs."""
    form = realism.uri_form(i.id)
    image_tags = [
        {"tagId": t.tag_id, "tagName": _tag_name(t.tag_id, tags), "created": _time(t.created, realism, zone=False)}
        for t in i.tags
    ]
    body: Json = {
        "id": i.id,
        "created": _time(i.created, realism, zone=False),
        "width": i.width,
        "height": i.height,
        "resizedImageUri": relative_uri(i.resized) if form is UriForm.RELATIVE else link(i.resized),
        "thumbnailUri": relative_uri(i.thumbnail) if form is UriForm.RELATIVE else link(i.thumbnail),
        "originalImageUri": link(i.original) if form is UriForm.ABSOLUTE else relative_uri(i.original),
        "tags": image_tags or None,
        "regions": [_region(r, tags, realism) for r in i.regions] or None,
        "metadata": dict(i.metadata) or None,
    }
    if realism.enabled:
        body = {k: v for k, v in body.items() if v is not None}
    return body


def iteration(it: Iteration, p: Project, realism: Realism = OFF) -> Json:
    """An `Iteration`. Realistic: `publishName`/`originalPublishResourceId` null when unpublished; an iteration
    that did not complete has no `trainedAt` and null export fields (TrainAndPublishProject.json)."""
    completed = it.status == "Completed"
    body: Json = {
        "id": it.id,
        "name": it.name,
        "status": it.status,
        "created": _time(it.created, realism, zone=True),
        "lastModified": _time(it.last_modified, realism, zone=True),
        "trainedAt": _time(it.trained_at, realism, zone=True),
        "projectId": p.id,
        "exportable": completed,
        "exportableTo": ["CoreML", "TensorFlow", "DockerFile", "ONNX"] if completed else [],
        "domainId": p.domain_id,
        "classificationType": p.classification_type,
        "trainingType": "Regular",
        "reservedBudgetInHours": 0,
        "trainingTimeInMinutes": it.training_time_minutes,
        "publishName": it.publish_name,
        "originalPublishResourceId": it.publish_resource_id,
    }
    if realism.enabled:
        body["publishName"] = it.publish_name or None
        body["originalPublishResourceId"] = it.publish_resource_id or None
        if not completed:
            del body["trainedAt"]
            body.update(exportableTo=None, domainId=None, classificationType=None)
    return body


def export(e: Export, link: Link) -> Json:
    body: Json = {"platform": e.platform, "status": e.status, "flavor": e.flavor, "newerVersionAvailable": False}
    if e.status == "Done" and e.blob is not None:
        body["downloadUri"] = link(e.blob)
    return body


def _score(*parts: str) -> float:
    """A stable pseudo-measure in [0.5, 1) derived from ids, so performance numbers never change."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return round(0.5 + int.from_bytes(digest[:4], "big") / 2**33, 6)


def iteration_performance(it: Iteration, p: Project, threshold: float) -> Json:
    detection = p.kind is ProjectKind.OBJECT_DETECTION
    per_tag = []
    for t in sorted(it.tags.values(), key=lambda t: t.name):
        per_tag.append(
            {
                "id": t.id,
                "name": t.name,
                "precision": _score(it.id, t.id, "p"),
                "precisionStdDeviation": 0.0,
                "recall": _score(it.id, t.id, "r"),
                "recallStdDeviation": 0.0,
                "averagePrecision": _score(it.id, t.id, "ap") if detection else None,
            }
        )
    return {
        "perTagPerformance": per_tag,
        "precision": _score(it.id, str(threshold), "p"),
        "precisionStdDeviation": 0.0,
        "recall": _score(it.id, str(threshold), "r"),
        "recallStdDeviation": 0.0,
        "averagePrecision": _score(it.id, "ap") if detection else None,
    }


def image_performance(i: Image, it: Iteration, p: Project, link: Link, realism: Realism = OFF) -> Json:
    """An `ImagePerformance`: the image as the iteration saw it plus what it predicted for it."""
    predictions = []
    for region_or_tag in i.regions or i.tags:
        box = None
        if isinstance(region_or_tag, Region):
            r = region_or_tag
            box = {"left": r.left, "top": r.top, "width": r.width, "height": r.height}
        tag_id = region_or_tag.tag_id
        predictions.append(
            {
                "probability": _score(it.id, i.id, tag_id),
                "tagId": tag_id,
                "tagName": _tag_name(tag_id, it.tags),
                "boundingBox": box,
                "tagType": "Regular",
            }
        )
    body = image(i, it.tags, link, realism)
    performance: Json = {
        "predictions": predictions,
        "id": i.id,
        "created": body["created"],
        "width": i.width,
        "height": i.height,
        "imageUri": body["resizedImageUri"],
        "thumbnailUri": body["thumbnailUri"],
        "tags": body.get("tags"),
        "regions": body.get("regions"),
    }
    if realism.enabled:
        performance = {k: v for k, v in performance.items() if v is not None}
    return performance


def _predicted(pt: PredictedTag, realism: Realism) -> Json:
    """A predicted tag; realistic: no `boundingBox` key for classification (QueryPredictionResults.json)."""
    box = None
    if pt.box is not None:
        left, top, width, height = pt.box
        box = {"left": left, "top": top, "width": width, "height": height}
    body: Json = {"probability": pt.probability, "tagId": pt.tag_id, "tagName": pt.tag_name, "boundingBox": box,
                  "tagType": "Regular"}  # fmt: skip
    if realism.enabled and box is None:
        del body["boundingBox"]
    return body


def stored_prediction(sp: StoredPrediction, p: Project, link: Link, realism: Realism = OFF) -> Json:
    """A stored prediction; its `created` ends in Z with milliseconds in every recording."""
    return {
        "resizedImageUri": link(sp.resized),
        "thumbnailUri": link(sp.thumbnail),
        "originalImageUri": link(sp.original),
        "domain": p.domain_id,
        "id": sp.id,
        "project": p.id,
        "iteration": sp.iteration_id,
        "created": iso(sp.created),
        "predictions": [_predicted(pt, realism) for pt in sp.predictions],
    }
