"""Images: plan the image sets, export them chunk by chunk (in parallel), then merge into images.jsonl.

Images in trained iterations are Custom Vision data too, so the workspace and every iteration are listed ("image
sets"). Each chunk activity owns a range of one set's positions and exports the images of the ties in `created`
that start in that range (`customvision.owned_pages`: the service reorders ties on every call, so plain skip/take
would lose or repeat images where a tie straddles two pages). It copies each original (a SAS URL, or GetArtifact
for a relative URI) with the pixel size read from its bytes, records a failed copy in the image's line instead of
failing its siblings, and writes a sorted part file to the scratch area. `finalize_images` checks every set
against GetImageCount, lists a set again for what is missing, then merges the parts into one line per image
and writes COCO at the originals' pixel scale for projects with regions. See docs/real-service.md.
"""

from __future__ import annotations

import functools
import heapq
import math
import time
from concurrent.futures import Future
from typing import Any, NotRequired, TypedDict

from customvision import CustomVisionErrorCode, CustomVisionHttpError, TrainingClient, owned_pages, time_key
from dsr import layout
from dsr.envelope import CategoryResult, complete, error_info, failed, is_permanent
from dsr.export.coco import coco_chunks
from dsr.export.copier import Copier
from dsr.export.imagesets import WORKSPACE, merge_sets
from dsr.export.listing import EVERY_IMAGE, ImageListing, set_count
from dsr.export.pool import cancel, results, submit_all
from dsr.export.simple import IMAGE_URI_FIELDS
from dsr.redact import without_uris
from dsr.sink import ExportSink

PAGE = 256  # the Training API's largest page
# Positions per chunk activity: two listings of 256, less room for the ties each listing re-reads from their start
# (listed records are held until the part is written).
CHUNK_SIZE = 2 * PAGE - 32
COPY_ATTEMPTS = 3  # per image, for errors that may pass (a permanent 4xx is recorded at once)


class ImageSet(TypedDict):
    """One listing of a project's images: the workspace or one iteration's snapshot."""

    key: str  # "workspace" or the iteration id
    iterationId: str | None
    count: int
    chunks: int
    chunkSize: NotRequired[int]
    status: NotRequired[str]  # the iteration's status (Completed, Training, Failed); absent for the workspace


def chunk_bounds(chunk: int, chunks: int, chunk_size: int) -> tuple[int, int | None]:
    """Positions [start, end) a chunk owns; the last chunk runs to the end of the set (images added since)."""
    start = chunk * chunk_size
    return start, None if chunk >= chunks - 1 else start + chunk_size


def plan_image_sets(client: TrainingClient, project_id: str, *, chunk_size: int = CHUNK_SIZE,
                    listing: ImageListing = EVERY_IMAGE) -> list[ImageSet]:
    """The workspace and every iteration whatever its status (Completed, Training, Failed: a snapshot is exported
    whenever the service lists one), with image counts (of `listing`'s images) and the chunks each needs."""
    sets = [ImageSet(key=WORKSPACE, iterationId=None, count=0, chunks=0, chunkSize=chunk_size)]
    for iteration in client.list_iterations(project_id):
        sets.append(ImageSet(key=iteration["id"], iterationId=iteration["id"], count=0, chunks=0,
                             chunkSize=chunk_size, status=str(iteration.get("status") or "")))
    for image_set in sets:
        image_set["count"] = set_count(client, project_id, image_set["iterationId"], listing)
        image_set["chunks"] = math.ceil(image_set["count"] / chunk_size)
    return sets


def export_image_chunk(
    client: TrainingClient, copier: Copier, work: ExportSink, project_id: str, image_set: ImageSet, chunk: int,
    *, listing: ImageListing = EVERY_IMAGE,
) -> int:
    """Export the images whose ties start in chunk `chunk` of one set, write its part file; returns the count.

    Each page's copies start as soon as the page is listed, so copying overlaps the (rate-limited) listing."""
    start, end = chunk_bounds(chunk, image_set["chunks"], image_set.get("chunkSize", CHUNK_SIZE))
    records = _export_range(client, copier, project_id, image_set, start, end, listing=listing)
    _write_part(work, project_id, image_set, chunk, records, listing)
    return len(records)


def _export_range(
    client: TrainingClient, copier: Copier, project_id: str, image_set: ImageSet, start: int, end: int | None,
    *, skip_ids: frozenset[str] = frozenset(), listing: ImageListing = EVERY_IMAGE,
) -> list[dict[str, Any]]:
    """List positions [start, end) of a set tie-safely and copy each image not in `skip_ids`; one record each."""
    dedupe = image_set["key"] != WORKSPACE and listing.workspace_copies

    def fetch(skip: int, take: int) -> list[dict[str, Any]]:
        return listing.page(client, project_id, image_set["iterationId"], skip, take)

    copies: list[Future[dict[str, Any]]] = []
    try:
        for page in owned_pages(fetch, start, end, take=PAGE):
            page = [image for image in page if image["id"] not in skip_ids]
            in_workspace = _in_workspace(client, project_id, page) if dedupe and page else set()
            copy = functools.partial(_copy, client, copier, project_id, image_set["key"], in_workspace,
                                     listing.path(layout.project_file(project_id, "", under="images")))
            copies += submit_all(copy, page)
    except BaseException:
        cancel(copies)
        raise
    return results(copies)


def _copy(client: TrainingClient, copier: Copier, project_id: str, set_key: str, in_workspace: set[str],
          folder: str, image: dict[str, Any]) -> dict[str, Any]:
    """One image's part record; its original copied unless the workspace chunks copy it. A copy that fails (after
    retries when it may pass) is recorded as `exportError`, never raised: its siblings carry on."""
    record: dict[str, Any] = {"set": set_key, "image": without_uris(image, IMAGE_URI_FIELDS), "file": None}
    if image["id"] in in_workspace:
        return record  # the workspace chunks copy it; the merge takes their file
    artifact = functools.partial(client.iter_artifact, project_id)
    stem = folder + image["id"]
    for attempt in range(COPY_ATTEMPTS):
        try:
            # Iteration-only images may sit in several snapshots: reuse a copy another chunk already made.
            copied = copier.copy_image(image.get("originalImageUri") or "", stem, artifact=artifact,
                                       reuse=set_key != WORKSPACE)
        except Exception as exc:  # recorded, not raised: one image must not take its chunk with it
            if is_permanent(exc) or attempt == COPY_ATTEMPTS - 1:
                record["exportError"] = dict(error_info(exc))
                return record
            time.sleep(0.5 * 2**attempt)
            continue
        record["file"] = copied.file
        if copied.pixels is not None:
            record["pixels"] = [copied.pixels.width, copied.pixels.height]
        return record
    raise AssertionError("unreachable")


def _in_workspace(client: TrainingClient, project_id: str, images: list[dict[str, Any]]) -> set[str]:
    """Which of an iteration page's images are also in the workspace (GetImagesByIds, 256 ids a call). The service
    may drop ids the workspace lacks or refuse them (docs/real-service.md): refused, none is taken as known, and the
    iteration copies them itself (`reuse` keeps one file when the workspace chunk copied it too)."""
    try:
        return {image["id"] for image in client.list_images_by_ids(project_id, [i["id"] for i in images])}
    except CustomVisionHttpError as exc:
        project_gone = exc.error_code == CustomVisionErrorCode.NOT_FOUND_PROJECT
        if exc.status_code == 400 or (exc.status_code == 404 and not project_gone):
            return set()
        raise


def _write_part(work: ExportSink, project_id: str, image_set: ImageSet, chunk: int,
                records: list[dict[str, Any]], listing: ImageListing) -> None:
    """The part file, sorted by `created` then id, and after it its count (what `finalize_images` checks)."""
    records.sort(key=lambda r: (_created_key(r["image"]), r["image"]["id"]))
    work.write_lines(listing.path(layout.image_part(project_id, image_set["key"], chunk)), records)
    work.write_json(listing.path(layout.image_part(project_id, image_set["key"], chunk, count=True)),
                    {"count": len(records)})


def _created_key(image: dict[str, Any]) -> int:
    return time_key(image["created"])


def _set_parts(project_id: str, image_set: ImageSet, listing: ImageListing) -> list[str]:
    """The set's part files: one per chunk, then the one `finalize_images` writes for what it listed again."""
    return [listing.path(layout.image_part(project_id, image_set["key"], chunk))
            for chunk in range(image_set["chunks"] + 1)]


def _set_stream(work: ExportSink, project_id: str, image_set: ImageSet, listing: ImageListing) -> Any:
    """The set's records in `created` order (the parts are sorted; the repair part is merged in)."""
    streams = [work.read_lines(part) for part in _set_parts(project_id, image_set, listing)]
    return heapq.merge(*streams, key=lambda r: (_created_key(r["image"]), r["image"]["id"]))


def _complete_set(client: TrainingClient, copier: Copier, work: ExportSink, project_id: str,
                  image_set: ImageSet, listing: ImageListing) -> str | None:
    """Check a set against its count; list it again for what its chunks missed (a chunk whose activity failed
    for good, images added meanwhile). Returns a shortfall message, or None when every counted image is there."""
    expected = set_count(client, project_id, image_set["iterationId"], listing)
    if _exported_count(work, project_id, image_set, listing) >= expected:
        return None
    exported = {r["image"]["id"] for part in _set_parts(project_id, image_set, listing) for r in work.read_lines(part)}
    found = _export_range(client, copier, project_id, image_set, 0, None, skip_ids=frozenset(exported),
                          listing=listing)
    _write_part(work, project_id, image_set, image_set["chunks"], found, listing)
    total = len(exported) + len(found)
    if total >= expected:
        return None
    return f"{image_set['key']}: {total} of {expected} images counted by GetImageCount were listed"


def _exported_count(work: ExportSink, project_id: str, image_set: ImageSet, listing: ImageListing) -> int:
    """Images the set's parts hold, from the counts written after them (a part without one is counted)."""
    total = 0
    for chunk, part in enumerate(_set_parts(project_id, image_set, listing)):
        summary = work.read_json(listing.path(layout.image_part(project_id, image_set["key"], chunk, count=True)))
        total += summary["count"] if summary else sum(1 for _ in work.read_lines(part))
    return total


def finalize_images(
    client: TrainingClient, sink: ExportSink, work: ExportSink, project_id: str, sets: list[ImageSet],
    *, listing: ImageListing = EVERY_IMAGE,
) -> CategoryResult:
    """Complete every set against its count, then merge the parts into images.jsonl (one line per image) and, with
    regions, annotations.coco.json (boxes at the exported originals' pixel size)."""
    copier = Copier(sink)
    shortfalls = [m for s in sets if (m := _complete_set(client, copier, work, project_id, s, listing))]

    def lines() -> Any:
        return merge_sets([_set_stream(work, project_id, s, listing) for s in sets])

    regions = 0
    without_file = 0
    first_error: dict[str, Any] | None = None

    def counted() -> Any:
        nonlocal regions, without_file, first_error
        for line in lines():
            regions += len(line.get("regions") or [])
            if line.get("file") is None:
                without_file += 1
                first_error = first_error or line.get("exportError")
            yield line

    _, count = sink.write_lines(listing.path(layout.project_file(project_id, layout.IMAGES_JSONL)), counted())
    coco = 0
    if regions:
        tags = list(client.list_tags(project_id))
        project = client.get_project(project_id)
        coco_path = listing.path(layout.project_file(project_id, layout.COCO_JSON))
        sink.write_stream(coco_path, coco_chunks(lines, tags, project=project))
        coco = 1
    if shortfalls:
        return failed("ImageSetIncomplete", "; ".join(shortfalls), count=count)
    if without_file:
        reason = f" (first: {first_error['code']}: {first_error['message']})" if first_error else ""
        return failed("ImageFilesMissing", f"{without_file} of {count} images could not be copied{reason}",
                      count=count)
    return complete(count, details={"regions": regions, "coco": bool(coco), "sets": len(sets)})
