"""Merging the workspace and iteration image listings into one record per image, with bounded memory.

Each image set (the workspace, and every trained iteration's snapshot) is listed oldest first, so every
set's stream is sorted by `created`. A k-way merge on `created` brings the copies of one image from all
sets together; records sharing a `created` value are grouped by id. Memory holds one page per set and
one run of equal timestamps, never a project's full list of ids.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Any

WORKSPACE = "workspace"  # the set key of the project's current (untrained) images


def merge_sets(streams: list[Iterable[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Merge sorted part records `{"set", "image", "file"}` into one export line per image id."""
    merged = heapq.merge(*streams, key=lambda r: r["image"]["created"])
    run: list[dict[str, Any]] = []
    for record in merged:
        if run and record["image"]["created"] != run[0]["image"]["created"]:
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
    """One images.jsonl line from the copies of an image in several sets (the workspace copy wins)."""
    records = sorted(records, key=lambda r: r["set"] != WORKSPACE)
    first = records[0]
    iterations = sorted({r["set"] for r in records if r["set"] != WORKSPACE})
    file = next((r["file"] for r in records if r.get("file")), None)
    line = dict(first["image"])
    line["inWorkspace"] = first["set"] == WORKSPACE
    line["iterations"] = iterations
    line["file"] = file
    return line
