"""COCO object-detection annotations (portable format, GDPR Art. 20) from images.jsonl lines."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dsr.canonical_json import sorted_json

Lines = Callable[[], Iterable[dict[str, Any]]]


def coco_chunks(lines: Lines, tags: list[dict[str, Any]], *, project: dict[str, Any]) -> Iterator[bytes]:
    """Stream a COCO JSON document in two passes over `lines()` (images, then annotations): memory stays flat."""
    category_ids = {tag["id"]: n for n, tag in enumerate(sorted(tags, key=lambda t: t["id"]), start=1)}
    categories = [
        {"id": category_ids[t["id"]], "name": t["name"], "supercategory": "", "customVisionTagId": t["id"]}
        for t in sorted(tags, key=lambda t: t["id"])
    ]
    info = {"description": f"Custom Vision project {project.get('name', '')}", "customVisionProjectId": project["id"]}
    yield b'{"info":' + _dumps(info) + b',"categories":' + _dumps(categories) + b',"images":['
    for image_number, line in enumerate(lines(), start=1):
        if image_number > 1:
            yield b","
        file = line.get("file") or {}
        yield _dumps(
            {
                "id": image_number,
                "file_name": file.get("path", ""),
                "width": line.get("width"),
                "height": line.get("height"),
                "customVisionImageId": line["id"],
            }
        )
    yield b'],"annotations":['
    annotation_id = 0
    for image_number, line in enumerate(lines(), start=1):
        for region in line.get("regions") or []:
            annotation_id += 1
            if annotation_id > 1:
                yield b","
            yield _dumps(_annotation(annotation_id, image_number, line, region, category_ids))
    yield b"]}\n"


def _annotation(
    annotation_id: int, image_id: int, line: dict[str, Any], region: dict[str, Any], category_ids: dict[str, int]
) -> dict[str, Any]:
    width, height = line.get("width") or 0, line.get("height") or 0
    box = [region["left"] * width, region["top"] * height, region["width"] * width, region["height"] * height]
    box = [round(v, 2) for v in box]
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category_ids.get(region["tagId"], 0),
        "bbox": box,
        "area": round(box[2] * box[3], 2),
        "iscrowd": 0,
        "customVisionRegionId": region.get("regionId"),
    }


def _dumps(obj: Any) -> bytes:
    return sorted_json(obj)
