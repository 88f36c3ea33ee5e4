"""Measured alternatives for the copy step, on the same Azurite and the same exported blobs as the floor.

Each strategy copies the same sample of blobs into its own folder with a thread pool, timed:
- copy_from_url: one sync Copy From URL per blob (the floor's method);
- get_then_copy_from_url: read the source (to hash it), then sync Copy From URL (our Copier until aaeebb5);
- find_get_copy_from_url: plus a prefix listing first (our Copier with `reuse=True`, iteration sets);
- get_then_stage_commit: read the source (to hash it), then Put Block From URL + Put Block List (our
  Copier's way for files over 4 MiB; no SAS lands in x-ms-copy-source);
- get_then_put: read the source (to hash it), then upload those bytes (our Copier's way up to 4 MiB);
- *_pooled: the source read through one shared, pooled HTTP session instead of a new client (and TCP
  connection) per blob, as `BlobClient.from_blob_url(url)` per image does.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.storage.blob import BlobBlock, BlobClient, BlobSasPermissions, ContainerClient, generate_blob_sas

from bench.floor import pooled_transport

Strategy = Callable[[ContainerClient, str, str, str, Any], None]


def _read(url: str, transport: Any) -> bytes:
    client = BlobClient.from_blob_url(url, transport=transport) if transport else BlobClient.from_blob_url(url)
    return client.download_blob().readall()


def _copy_from_url(target: ContainerClient, name: str, url: str, folder: str, transport: Any) -> None:
    target.get_blob_client(f"{folder}/{name}").start_copy_from_url(url, requires_sync=True)


def _get_then_copy(target: ContainerClient, name: str, url: str, folder: str, transport: Any) -> None:
    hashlib.sha256(_read(url, transport)).hexdigest()
    _copy_from_url(target, name, url, folder, transport)


def _find_get_copy(target: ContainerClient, name: str, url: str, folder: str, transport: Any) -> None:
    list(target.list_blobs(name_starts_with=f"{folder}/{name}.", include=["metadata"]))
    _get_then_copy(target, name, url, folder, transport)


def _get_then_stage_commit(target: ContainerClient, name: str, url: str, folder: str, transport: Any) -> None:
    data = _read(url, transport)
    blob = target.get_blob_client(f"{folder}/{name}")
    blob.stage_block_from_url("000000", url, source_offset=0, source_length=len(data),
                              source_content_md5=bytearray(hashlib.md5(data, usedforsecurity=False).digest()))
    blob.commit_block_list([BlobBlock(block_id="000000")], metadata={"sha256": hashlib.sha256(data).hexdigest()})


def _get_then_put(target: ContainerClient, name: str, url: str, folder: str, transport: Any) -> None:
    data = _read(url, transport)
    digest = hashlib.sha256(data).hexdigest()
    target.get_blob_client(f"{folder}/{name}").upload_blob(data, overwrite=True, metadata={"sha256": digest})


# name -> (strategy, source reads through a shared pooled session)
STRATEGIES: dict[str, tuple[Strategy, bool]] = {
    "copy_from_url": (_copy_from_url, False),
    "get_then_copy_from_url": (_get_then_copy, False),
    "find_get_copy_from_url": (_find_get_copy, False),
    "get_then_copy_from_url_pooled": (_get_then_copy, True),
    "get_then_stage_commit": (_get_then_stage_commit, False),
    "get_then_put": (_get_then_put, False),
    "get_then_put_pooled": (_get_then_put, True),
}


def compare(source: ContainerClient, names: list[str], target: ContainerClient, account_key: str, *,
            workers: list[int]) -> list[dict[str, Any]]:
    """Per (strategy, workers): seconds and blobs a second for copying `names`."""
    if not target.exists():
        target.create_container()
    expiry = datetime.now(UTC) + timedelta(hours=2)
    urls = [(name, f"{source.url}/{name}?" + generate_blob_sas(
        source.account_name, source.container_name, name, account_key=account_key,
        permission=BlobSasPermissions(read=True), expiry=expiry)) for name in names]
    rows = []
    for label, (strategy, pooled) in STRATEGIES.items():
        for count in workers:
            folder = f"diag-{label}-{count}"
            transport = pooled_transport(count) if pooled else None
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=count) as pool:
                list(pool.map(lambda item, s=strategy, f=folder, t=transport: s(target, item[0], item[1], f, t), urls))
            seconds = time.perf_counter() - started
            rows.append({"strategy": label, "workers": count, "blobs": len(names), "seconds": round(seconds, 3),
                         "blobsPerSecond": round(len(names) / seconds, 1)})
    return rows

