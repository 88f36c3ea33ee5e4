"""Images: plan the image sets, export them chunk by chunk (in parallel), then merge into images.jsonl.

Images in trained iterations are Custom Vision data too, so the workspace and every trained iteration
are listed ("image sets"). Each chunk activity lists at most `chunk_pages` pages of one set, copies the
originals and writes a sorted part file to the scratch area; `finalize_images` merges the parts into one
line per image (with the iterations holding it) and writes COCO for projects with regions.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import Future
from typing import Any, TypedDict

from customvision import TrainingClient
from dsr.envelope import CategoryResult, complete, failed
from dsr.export import paths
from dsr.export.coco import coco_chunks
from dsr.export.copier import Copier
from dsr.export.imagesets import WORKSPACE, merge_sets
from dsr.export.pool import cancel, results, submit_all
from dsr.export.simple import IMAGE_URI_FIELDS
from dsr.redact import without_uris
from dsr.sink import ExportSink

PAGE = 256  # the Training API's largest page
CHUNK_PAGES = 2  # pages per chunk activity: 512 images (listed records are held until the part is written)


class ImageSet(TypedDict):
    """One listing of a project's images: the workspace or one trained iteration's snapshot."""

    key: str  # "workspace" or the iteration id
    iterationId: str | None
    count: int
    chunks: int


def plan_image_sets(client: TrainingClient, project_id: str, *, chunk_size: int = PAGE * CHUNK_PAGES) -> list[ImageSet]:
    """The workspace and every trained iteration, with image counts and the number of chunks each needs."""
    sets: list[ImageSet] = []
    iteration_ids = [None] + [it["id"] for it in client.list_iterations(project_id) if it.get("status") == "Completed"]
    for iteration_id in iteration_ids:
        count = client.get_image_count(project_id, iteration_id=iteration_id)
        sets.append(
            ImageSet(
                key=iteration_id or WORKSPACE,
                iterationId=iteration_id,
                count=count,
                chunks=math.ceil(count / chunk_size),
            )
        )
    return sets


def export_image_chunk(
    client: TrainingClient,
    copier: Copier,
    work: ExportSink,
    project_id: str,
    image_set: ImageSet,
    chunk: int,
    *,
    chunk_pages: int = CHUNK_PAGES,
) -> int:
    """List chunk `chunk` of one image set, copy its originals, write its part file; returns the image count.

    Each page's copies start as soon as the page is listed, so copying overlaps the (rate-limited) listing."""
    in_iteration = image_set["key"] != WORKSPACE

    def copy(image: dict[str, Any], in_workspace: set[str]) -> dict[str, Any]:
        record = {"set": image_set["key"], "image": without_uris(image, IMAGE_URI_FIELDS), "file": None}
        if image["id"] in in_workspace:
            return record  # the workspace chunks copy it; the merge takes their file
        # Iteration-only images may sit in several snapshots: reuse a copy another chunk already made.
        record["file"] = copier.copy(image["originalImageUri"], paths.image_stem(project_id, image["id"]),
                                     reuse=in_iteration)
        return record

    copies: list[Future[dict[str, Any]]] = []
    start = chunk * chunk_pages * PAGE
    try:
        for page in range(chunk_pages):
            batch = client.list_images_page(
                project_id, skip=start + page * PAGE, take=PAGE, iteration_id=image_set["iterationId"],
                order_by="Oldest",
            )
            in_workspace = _in_workspace(client, project_id, batch) if in_iteration and batch else set()
            copies += submit_all(functools.partial(copy, in_workspace=in_workspace), batch)
            if len(batch) < PAGE:
                break
    except BaseException:
        cancel(copies)
        raise
    records = results(copies)
    records.sort(key=lambda r: (r["image"]["created"], r["image"]["id"]))
    work.write_lines(paths.image_part(project_id, image_set["key"], chunk), records)
    return len(records)


def _in_workspace(client: TrainingClient, project_id: str, images: list[dict[str, Any]]) -> set[str]:
    """Which of an iteration page's images are also in the workspace (GetImagesByIds, 256 ids a call)."""
    return {image["id"] for image in client.list_images_by_ids(project_id, [i["id"] for i in images])}


def finalize_images(
    client: TrainingClient, sink: ExportSink, work: ExportSink, project_id: str, sets: list[ImageSet]
) -> CategoryResult:
    """Merge every set's parts into images.jsonl (one line per image) and, with regions, annotations.coco.json."""

    def lines() -> Any:
        streams = [_set_stream(work, project_id, s) for s in sets]
        return merge_sets(streams)

    regions = 0
    without_file = 0

    def counted() -> Any:
        nonlocal regions, without_file
        for line in lines():
            regions += len(line.get("regions") or [])
            without_file += line.get("file") is None
            yield line

    _, count = sink.write_lines(paths.images_jsonl(project_id), counted())
    coco = 0
    if regions:
        tags = list(client.list_tags(project_id))
        project = client.get_project(project_id)
        sink.write_stream(paths.coco_json(project_id), coco_chunks(lines, tags, project=project))
        coco = 1
    if without_file:  # e.g. the workspace changed between the listings: say so rather than hide it
        return failed("ImageFilesMissing", f"{without_file} of {count} images have no exported file", count=count)
    return complete(count, details={"regions": regions, "coco": bool(coco), "sets": len(sets)})


def _set_stream(work: ExportSink, project_id: str, image_set: ImageSet) -> Any:
    for chunk in range(image_set["chunks"]):
        yield from work.read_lines(paths.image_part(project_id, image_set["key"], chunk))
