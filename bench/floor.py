"""The floor: what the rate limit and the storage account allow at best, computed and measured in the run.

Export floor = the larger of the Training API floor and the copy floor (a parallel exporter overlaps them).
  Training API floor: sum over every image set (each project's workspace and each trained iteration) of
  ceil(count / 256) listing calls, plus one GetArtifact for every image whose original the service gives only as
  a relative URI (its bytes can be read no other way: docs/real-service.md), at TPS calls a second (per-call
  latency ignored: it overlaps under pacing).
  copy floor: the measured wall time to copy the same blobs' bytes blob to blob on the same Azurite, by the
  fastest byte-moving method (server-side Put Block From URL + Put Block List, or read + Put Blob) at the
  best of several worker counts (more is not always faster: Azurite is one Node process).
  Not sync Copy From URL: here the emulator's images and the export share one Azurite account, and
  Azurite answers a same-account Copy From URL by cloning the blob record, which points at the same stored
  bytes (nothing is copied). The export account and the service's storage are different accounts in
  Azure, where that copy moves every byte. The clone's time is still measured and reported
  (`cloneSeconds`), as a reference, not as the floor.
Delete floor = per project: the same listing as the export's (ceil(count / 256) calls for each image set: an image
  only an iteration holds can be found no other way than by listing that iteration), ceil(N / 256) DeleteImages
  calls where N is every distinct image the project holds, and one GetImageCount per set to verify, at TPS calls a
  second, plus the service's lag once: DeleteImages answers 202 and the images stay listed for a while (the
  emulator's `--delete-lag-seconds`), and a delete is not done until its verification sees none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import requests
from azure.core.exceptions import ResourceExistsError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobBlock, BlobClient, BlobSasPermissions, ContainerClient, generate_blob_sas
from requests.adapters import HTTPAdapter

PAGE = 256
EXPORT_DEFINITION = ("the larger of: (sum over image sets (workspace + every trained iteration) of ceil(count/256) "
                     "list calls + one GetArtifact per image whose original is a relative URI) / TPS; and the "
                     "measured time to copy the same blobs' bytes blob-to-blob on the same Azurite (fastest of Put "
                     "Block From URL + Put Block List and read + Put Blob, best of the worker counts tried; "
                     "Azurite's same-account Copy From URL clones the record without copying bytes, so it is "
                     "reported as cloneSeconds, not used)")
DELETE_DEFINITION = ("per project: sum over image sets (workspace + every iteration) of ceil(count/256) list calls + "
                     "ceil(N/256) DeleteImages calls + one GetImageCount per set to verify, / TPS, plus the service's "
                     "202 lag once; N = every distinct image the project holds (workspace or iteration-only)")
RELATIVE_ORIGINALS = ("relative", "originalRelative")  # emulator ground truth `uriForm`s read through GetArtifact


class ImageSetCount(TypedDict):
    projectId: str
    set: str  # "workspace" or the iteration id
    count: int


class CopyFloor(TypedDict):
    seconds: float
    blobs: int
    bytes: int
    workers: int
    method: str  # the fastest byte-moving method
    blobsPerSecond: float
    tried: list[dict[str, Any]]  # every (method, worker count) measured: {"method", "workers", "seconds"}
    cloneSeconds: float | None  # Azurite's same-account Copy From URL (a record clone), best worker count


class Floor(TypedDict):
    wallSeconds: float
    listingCalls: int  # every Training API call the floor counts (listing, GetArtifact, DeleteImages, verifying)
    listingSeconds: float  # those calls at TPS (for a delete, with the service's lag)
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


def artifact_calls(state: dict[str, Any]) -> int:
    """Images whose original only GetArtifact can read (one call each, whatever the sets they are in)."""
    return sum(image.get("uriForm") in RELATIVE_ORIGINALS
               for project in state["projects"] for image in project["images"])


def export_floor(sets: list[ImageSetCount], tps: float, copy: CopyFloor, artifacts: int = 0) -> Floor:
    calls = listing_calls(sets) + artifacts
    training = calls / tps
    return Floor(wallSeconds=round(max(training, copy["seconds"]), 3), listingCalls=calls,
                 listingSeconds=round(training, 3), copy=copy, definition=EXPORT_DEFINITION)


def delete_floor(state: dict[str, Any], tps: float, lag_seconds: float = 0.0) -> Floor:
    sets = image_sets(state)
    calls = (listing_calls(sets) + sum(math.ceil(len(project["images"]) / PAGE) for project in state["projects"])
             + len(sets))
    seconds = calls / tps + (lag_seconds if calls else 0.0)
    return Floor(wallSeconds=round(seconds, 3), listingCalls=calls, listingSeconds=round(seconds, 3), copy=None,
                 definition=DELETE_DEFINITION)


def _stage_from_url(target: ContainerClient, name: str, url: str, size: int, folder: str) -> None:
    """Server-side byte copy: Put Block From URL (the service reads the source) + Put Block List."""
    blob = target.get_blob_client(f"{folder}/{name}")
    if size:
        blob.stage_block_from_url("000000", url, source_offset=0, source_length=size)
        blob.commit_block_list([BlobBlock(block_id="000000")])
    else:
        blob.upload_blob(b"", overwrite=True)


def _read_then_put(target: ContainerClient, name: str, url: str, size: int, folder: str) -> None:
    """Client-side byte copy: read the source, Put Blob with its bytes."""
    data = BlobClient.from_blob_url(url, transport=_SOURCE_TRANSPORT).download_blob().readall()
    target.get_blob_client(f"{folder}/{name}").upload_blob(data, overwrite=True)


def _clone(target: ContainerClient, name: str, url: str, size: int, folder: str) -> None:
    target.get_blob_client(f"{folder}/{name}").start_copy_from_url(url, requires_sync=True)


BYTE_COPIES = {"put_block_from_url": _stage_from_url, "read_then_put": _read_then_put}


def measure_copy(source: ContainerClient, files: list[tuple[str, int]], target: ContainerClient, account_key: str,
                 *, workers: list[int]) -> CopyFloor:
    """Copy `files` (name, size) from `source` to `target` by each byte-moving method at each worker count;
    the fastest is the floor. The same-account clone is timed too, for reference."""
    if not target.exists():
        target.create_container()
    expiry = datetime.now(UTC) + timedelta(hours=2)

    def source_url(name: str) -> str:
        sas = generate_blob_sas(source.account_name, source.container_name, name, account_key=account_key,
                                permission=BlobSasPermissions(read=True), expiry=expiry)
        return f"{source.url}/{name}?{sas}"

    items = [(name, source_url(name), size) for name, size in files]

    def timed(method: Callable[..., None], folder: str, count: int) -> float:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(lambda item: method(target, item[0], item[1], item[2], folder), items))
        seconds = round(time.perf_counter() - started, 3)
        _empty(target)  # every measurement starts from the same storage size (Azurite slows as it fills)
        return seconds

    tried: list[dict[str, Any]] = []
    for label, method in BYTE_COPIES.items():
        for count in workers:
            tried.append({"method": label, "workers": count, "seconds": timed(method, f"floor-{label}-{count}", count)})
    clone = min(timed(_clone, f"clone-{count}", count) for count in workers)
    best = min(tried, key=lambda t: t["seconds"])
    seconds = best["seconds"]
    return CopyFloor(seconds=seconds, blobs=len(files), bytes=sum(size for _, size in files),
                     workers=int(best["workers"]), method=best["method"],
                     blobsPerSecond=round(len(files) / seconds, 1) if seconds else 0.0, tried=tried,
                     cloneSeconds=clone)


def _empty(container: ContainerClient) -> None:
    """Drop and recreate a container (faster on Azurite than deleting its blobs one by one)."""
    container.delete_container()
    for attempt in range(50):
        try:
            container.create_container()
            return
        except ResourceExistsError:  # still being deleted
            time.sleep(0.2 * (attempt + 1))
    container.create_container()


def pooled_transport(size: int, *, session_owner: bool = False) -> RequestsTransport:
    """A transport whose HTTP pool holds `size` connections, so many threads don't queue for one; shareable by
    many clients unless `session_owner` (then the one client using it closes the session)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=session_owner)


def pooled_container(connection_string: str, name: str, *, pool_size: int) -> ContainerClient:
    """A container client with its own pool of `pool_size` connections."""
    return ContainerClient.from_connection_string(connection_string, name,
                                                  transport=pooled_transport(pool_size, session_owner=True))


_SOURCE_TRANSPORT = pooled_transport(128)  # source reads of every read_then_put client
