"""The floor: what the rate limit and the storage account allow at best, computed and measured in the run.

Export floor = listing floor + copy floor.
  listing floor: sum over every image set (each project's workspace and each trained iteration) of
  ceil(count / 256) calls, at TPS calls a second (per-call latency ignored: it overlaps under pacing).
  copy floor: the measured wall time to copy the same number of blobs, of the same sizes, blob to blob
  (sync Copy From URL) on the same Azurite, at the best of several worker counts (more is not always
  faster: Azurite is one Node process).
Delete floor = per project ceil(N / 256) listing calls + ceil(N / 256) DeleteImages calls, at TPS calls a
  second, where N is every image the project holds (workspace or iteration-only).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobSasPermissions, ContainerClient, generate_blob_sas
from requests.adapters import HTTPAdapter

PAGE = 256
EXPORT_DEFINITION = ("sum over image sets (workspace + every trained iteration) of ceil(count/256) list calls "
                     "/ TPS, plus the measured time to copy the same blobs blob-to-blob (sync Copy From URL) on "
                     "the same Azurite, best of the worker counts tried")
DELETE_DEFINITION = ("per project: ceil(N/256) list calls + ceil(N/256) DeleteImages calls, / TPS; N = every image "
                     "the project holds (workspace or iteration-only)")


class ImageSetCount(TypedDict):
    projectId: str
    set: str  # "workspace" or the iteration id
    count: int


class CopyFloor(TypedDict):
    seconds: float
    blobs: int
    bytes: int
    workers: int
    blobsPerSecond: float
    tried: list[dict[str, float]]  # every worker count measured: {"workers", "seconds"}


class Floor(TypedDict):
    wallSeconds: float
    listingCalls: int
    listingSeconds: float
    copy: CopyFloor | None
    definition: str


def image_sets(state: dict[str, Any]) -> list[ImageSetCount]:
    """Every image set of every project in the emulator's ground truth, with its size."""
    sets: list[ImageSetCount] = []
    for project in state["projects"]:
        sets.append(ImageSetCount(projectId=project["id"], set="workspace", count=project["workspaceImageCount"]))
        for iteration in project["iterations"]:
            sets.append(ImageSetCount(projectId=project["id"], set=iteration["id"], count=len(iteration["imageIds"])))
    return sets


def listing_calls(sets: list[ImageSetCount]) -> int:
    return sum(math.ceil(s["count"] / PAGE) for s in sets)


def export_floor(sets: list[ImageSetCount], tps: float, copy: CopyFloor) -> Floor:
    calls = listing_calls(sets)
    listing = calls / tps
    return Floor(wallSeconds=round(listing + copy["seconds"], 3), listingCalls=calls,
                 listingSeconds=round(listing, 3), copy=copy, definition=EXPORT_DEFINITION)


def delete_floor(state: dict[str, Any], tps: float) -> Floor:
    calls = sum(2 * math.ceil(len(project["images"]) / PAGE) for project in state["projects"])
    seconds = calls / tps
    return Floor(wallSeconds=round(seconds, 3), listingCalls=calls, listingSeconds=round(seconds, 3), copy=None,
                 definition=DELETE_DEFINITION)


def measure_copy(source: ContainerClient, files: list[tuple[str, int]], target: ContainerClient, account_key: str,
                 *, workers: list[int]) -> CopyFloor:
    """Copy `files` (name, size) from `source` to `target` once per worker count, each copy a sync Copy From URL;
    the fastest count is the floor."""
    if not target.exists():
        target.create_container()
    expiry = datetime.now(UTC) + timedelta(hours=2)

    def source_url(name: str) -> str:
        sas = generate_blob_sas(source.account_name, source.container_name, name, account_key=account_key,
                                permission=BlobSasPermissions(read=True), expiry=expiry)
        return f"{source.url}/{name}?{sas}"

    urls = [(name, source_url(name)) for name, _ in files]
    tried: list[dict[str, float]] = []
    for count in workers:
        def copy(item: tuple[str, str], folder: str = f"floor-{count}") -> None:
            target.get_blob_client(f"{folder}/{item[0]}").start_copy_from_url(item[1], requires_sync=True)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(copy, urls))
        tried.append({"workers": count, "seconds": round(time.perf_counter() - started, 3)})
    best = min(tried, key=lambda t: t["seconds"])
    seconds = best["seconds"]
    return CopyFloor(seconds=seconds, blobs=len(files), bytes=sum(size for _, size in files),
                     workers=int(best["workers"]), blobsPerSecond=round(len(files) / seconds, 1) if seconds else 0.0,
                     tried=tried)


def pooled_container(connection_string: str, name: str, *, pool_size: int) -> ContainerClient:
    """A container client whose HTTP pool holds `pool_size` connections, so many threads don't queue for one."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return ContainerClient.from_connection_string(connection_string, name,
                                                  transport=RequestsTransport(session=session, session_owner=True))
