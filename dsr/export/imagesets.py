"""Merging the workspace and iteration image listings into one record per image, with bounded memory.

Each image set (the workspace, and every iteration's snapshot) is listed oldest first, so every set's stream
is sorted by `created`. A k-way merge on `created` (compared as UTC to the 100 ns tick, never as text: the service
writes up to 7 digits and drops trailing zeros) brings the copies of one image from all sets together; records
sharing a `created` value are grouped by id. Memory holds one page per set and one run of equal timestamps,
never a project's full list of ids.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Any

from customvision import time_key

WORKSPACE = "workspace"  # the set key of the project's current (untrained) images


def _created(record: dict[str, Any]) -> int:
    return time_key(record["image"]["created"])


def merge_sets(streams: list[Iterable[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Merge sorted part records `{"set", "image", "file", "pixels"?, "exportError"?}` into one line per image id."""
    merged = heapq.merge(*streams, key=_created)
    run: list[dict[str, Any]] = []
    for record in merged:
        if run and _created(record) != _created(run[0]):
            yield from _group(run)
            run = []
        run.append(record)
    yield from _group(run)


def _group(run: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    by_id: dict[str, list[dict[str, Any]]] = {}
    for record in run:
        by_id.setdefault(record["image"]["id"], []).append(record)
    for image_id in sorted(by_id):
        yield export_line(by_id[image_id])


def export_line(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One images.jsonl line from the copies of an image in several sets (the workspace copy wins).

    `width`/`height` become the exported original's pixel size (read from its bytes); the service's listed size,
    its resized copy's, moves to `resizedWidth`/`resizedHeight`. A copy that failed leaves `file` null and says why
    in `exportError`."""
    records = sorted(records, key=lambda r: r["set"] != WORKSPACE)
    first = records[0]
    iterations = sorted({r["set"] for r in records if r["set"] != WORKSPACE})
    file = next((r["file"] for r in records if r.get("file")), None)
    pixels = next((r["pixels"] for r in records if r.get("file") and r.get("pixels")), None)
    line = dict(first["image"])
    line["resizedWidth"], line["resizedHeight"] = line.get("width"), line.get("height")
    if pixels:
        line["width"], line["height"] = pixels
    line["inWorkspace"] = first["set"] == WORKSPACE
    line["iterations"] = iterations
    line["file"] = file
    error = None if file else next((r["exportError"] for r in records if r.get("exportError")), None)
    if error:
        line["exportError"] = error
    return line
