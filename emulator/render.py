"""Model objects as the Training API's JSON (camelCase, ISO dates with Z), with SAS links for bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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

Json = dict[str, Any]
Link = Callable[[StoredBlob], str]  # blob -> read-only SAS URL


def project(p: Project, link: Link) -> Json:
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
        "created": iso(p.created),
        "lastModified": iso(p.last_modified),
        "thumbnailUri": link(thumb.thumbnail) if thumb else "",
        "drModeEnabled": False,
        "status": "Succeeded",
    }


def tag(t: Tag, image_count: int) -> Json:
    return {"id": t.id, "name": t.name, "description": t.description, "type": t.type, "imageCount": image_count}


def _region(r: Region, tags: dict[str, Tag]) -> Json:
    return {
        "regionId": r.id,
        "tagName": _tag_name(r.tag_id, tags),
        "created": iso(r.created),
        "tagId": r.tag_id,
        "left": r.left,
        "top": r.top,
        "width": r.width,
        "height": r.height,
    }


def _tag_name(tag_id: str, tags: dict[str, Tag]) -> str:
    found = tags.get(tag_id)
    return found.name if found else ""


def image(i: Image, tags: dict[str, Tag], link: Link) -> Json:
    """An `Image`; tags and regions are null when empty, as the service sends them."""
    image_tags = [{"tagId": t.tag_id, "tagName": _tag_name(t.tag_id, tags), "created": iso(t.created)} for t in i.tags]
    return {
        "id": i.id,
        "created": iso(i.created),
        "width": i.width,
        "height": i.height,
        "resizedImageUri": link(i.resized),
        "thumbnailUri": link(i.thumbnail),
        "originalImageUri": link(i.original),
        "tags": image_tags or None,
        "regions": [_region(r, tags) for r in i.regions] or None,
        "metadata": dict(i.metadata) or None,
    }


def iteration(it: Iteration, p: Project) -> Json:
    return {
        "id": it.id,
        "name": it.name,
        "status": "Completed",
        "created": iso(it.created),
        "lastModified": iso(it.last_modified),
        "trainedAt": iso(it.trained_at),
        "projectId": p.id,
        "exportable": True,
        "exportableTo": ["CoreML", "TensorFlow", "DockerFile", "ONNX"],
        "domainId": p.domain_id,
        "classificationType": p.classification_type,
        "trainingType": "Regular",
        "reservedBudgetInHours": 0,
        "trainingTimeInMinutes": it.training_time_minutes,
        "publishName": it.publish_name,
        "originalPublishResourceId": it.publish_resource_id,
    }


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


def image_performance(i: Image, it: Iteration, p: Project, link: Link) -> Json:
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
    body = image(i, it.tags, link)
    return {
        "predictions": predictions,
        "id": i.id,
        "created": body["created"],
        "width": i.width,
        "height": i.height,
        "imageUri": body["resizedImageUri"],
        "thumbnailUri": body["thumbnailUri"],
        "tags": body["tags"],
        "regions": body["regions"],
    }


def _predicted(pt: PredictedTag) -> Json:
    box = None
    if pt.box is not None:
        left, top, width, height = pt.box
        box = {"left": left, "top": top, "width": width, "height": height}
    return {"probability": pt.probability, "tagId": pt.tag_id, "tagName": pt.tag_name, "boundingBox": box,
            "tagType": "Regular"}  # fmt: skip


def stored_prediction(sp: StoredPrediction, p: Project, link: Link) -> Json:
    return {
        "resizedImageUri": link(sp.resized),
        "thumbnailUri": link(sp.thumbnail),
        "originalImageUri": link(sp.original),
        "domain": p.domain_id,
        "id": sp.id,
        "project": p.id,
        "iteration": sp.iteration_id,
        "created": iso(sp.created),
        "predictions": [_predicted(pt) for pt in sp.predictions],
    }
