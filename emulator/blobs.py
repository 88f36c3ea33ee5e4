"""Image, prediction and export bytes in Blob storage (Azurite by default), with read-only SAS links."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import aiohttp
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.blob import BlobSasPermissions, ContainerSasPermissions, generate_blob_sas, generate_container_sas
from azure.storage.blob.aio import BlobServiceClient

from emulator.model import StoredBlob

# The SDK logs request URLs; ours carry SAS signatures, which must never reach a log.
logging.getLogger("azure").setLevel(logging.WARNING)

UPLOAD_CONCURRENCY = 32
# Background reclaim of deleted images' blobs. In Azure it happens in the service's own storage account; here
# that is the same Azurite as the export account, so it waits for a lull in deletes and runs as a trickle,
# leaving the app's own storage calls (a receipt written right after the deletes) unhindered.
RECLAIM_CONCURRENCY = 2  # deletes in flight
RECLAIM_DELAY = 3.0  # seconds after the last scheduled delete before reclaiming starts
SAS_WINDOW = timedelta(minutes=5)  # links made within one window share an expiry, so they can be cached


class BlobError(RuntimeError):
    """Blob storage refused or failed a call (the message never includes a URL or signature)."""


@dataclass(frozen=True)
class Upload:
    """Bytes waiting to be written, and the record they become."""

    blob: StoredBlob
    data: bytes


def make_upload(name: str, data: bytes, content_type: str) -> Upload:
    """An Upload whose record carries the real size and sha256 of `data`."""
    return Upload(StoredBlob(name, len(data), hashlib.sha256(data).hexdigest(), content_type), data)


class BlobStore:
    """One container and a per-run name prefix; bulk writes go straight to the REST API with a container SAS."""

    def __init__(self, connection_string: str, container: str, prefix: str, *, sas_ttl: timedelta) -> None:
        self.container = container
        self.prefix = prefix.strip("/")
        self.sas_ttl = sas_ttl
        self._service = BlobServiceClient.from_connection_string(connection_string)
        self._account = self._service.account_name
        self._key = self._service.credential.account_key
        self._container_url = self._service.get_container_client(container).url
        self._http: aiohttp.ClientSession | None = None
        self._write_sas = ""
        self._sign = lru_cache(maxsize=200_000)(self._sign_uncached)
        self._present: dict[str, str] = {}  # name -> sha256 of what this run wrote and has not deleted
        self._doomed: set[str] = set()  # names whose deletion is scheduled and not yet sent
        self._reaping: set[str] = set()  # names whose deletion is being sent now
        self._reaper: asyncio.Task[None] | None = None
        self._last_scheduled = 0.0  # loop time of the last delete_later
        self.reclaim_delay = RECLAIM_DELAY

    async def start(self) -> None:
        """Create the container if needed (failing fast when storage is unreachable); open the bulk session."""
        for attempt in range(4):
            try:
                with contextlib.suppress(ResourceExistsError):
                    await self._service.create_container(self.container, retry_total=0)
                break
            except AzureError as exc:
                if attempt < 3:
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                await self._service.close()
                reason = (str(exc).splitlines() or [type(exc).__name__])[0]
                raise BlobError(f"cannot use blob storage at {self._service.url}: {reason}") from None
        self._write_sas = generate_container_sas(
            self._account,
            self.container,
            account_key=self._key,
            permission=ContainerSasPermissions(read=True, write=True, create=True, delete=True),
            expiry=datetime.now(UTC) + timedelta(days=7),
        )
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=UPLOAD_CONCURRENCY))

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError, BlobError):
                await self._reaper
        if self._http is not None:
            await self._http.close()
        await self._service.close()

    def _url(self, name: str) -> str:
        return f"{self._container_url}/{quote(self.full_name(name))}"

    def full_name(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    async def put_many(self, uploads: Iterable[Upload]) -> None:
        """Write every upload not already there with the same bytes (a reseed rewrites only what was deleted)."""
        todo = [u for u in uploads if self._present.get(u.blob.name) != u.blob.sha256]
        names = {u.blob.name for u in todo}
        self._doomed -= names  # a name deleted a moment ago comes back: the write replaces it, no delete needed
        while names & self._reaping:  # but a delete already sent must land before the write
            await asyncio.sleep(0.01)
        await self._bounded(self._put(u) for u in todo)

    async def delete_many(self, blobs: Iterable[StoredBlob]) -> None:
        """Delete blobs before returning; ones already gone count as deleted."""
        names = {b.name for b in blobs}
        self._doomed -= names
        await self._bounded(self._delete(name) for name in names)

    def delete_later(self, blobs: Iterable[StoredBlob]) -> None:
        """Schedule blobs for deletion in the background, as the service reclaims storage after answering.

        The records are already gone from the dataset, so nothing links to these blobs any more."""
        names = {b.name for b in blobs} - self._doomed
        if not names:
            return
        self._doomed |= names
        self._last_scheduled = asyncio.get_running_loop().time()
        for name in names:
            self._present.pop(name, None)
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def settle(self) -> None:
        """Wait until every scheduled deletion is done."""
        while self._reaper is not None and not self._reaper.done():
            await asyncio.shield(self._reaper)

    async def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        while (wait := self._last_scheduled + self.reclaim_delay - loop.time()) > 0:
            await asyncio.sleep(wait)
        while self._doomed:
            batch = set(list(self._doomed)[: RECLAIM_CONCURRENCY * 32])
            self._doomed -= batch
            self._reaping = batch
            try:
                await self._bounded((self._delete(name) for name in batch), limit=RECLAIM_CONCURRENCY)
            except BlobError:
                logging.getLogger(__name__).warning("background blob deletion failed; retrying", exc_info=False)
                self._doomed |= {name for name in batch if name not in self._present}
                await asyncio.sleep(0.5)
            finally:
                self._reaping = set()

    async def read(self, name: str) -> bytes | None:
        """The bytes of a blob, or None when it does not exist."""
        status, body = await self._request("GET", name)
        if status == 404:
            return None
        if status >= 300:
            raise BlobError(f"blob read failed with HTTP {status}")
        return body

    def read_url(self, name: str, now: datetime | None = None) -> str:
        """A read-only SAS link to a blob that expires `sas_ttl` after the current window."""
        now = now or datetime.now(UTC)
        window = int(now.timestamp() // SAS_WINDOW.total_seconds())
        return self._sign(name, window)

    def _sign_uncached(self, name: str, window: int) -> str:
        start = datetime.fromtimestamp(window * SAS_WINDOW.total_seconds(), UTC)
        sas = generate_blob_sas(
            self._account,
            self.container,
            self.full_name(name),
            account_key=self._key,
            permission=BlobSasPermissions(read=True),
            start=start - timedelta(minutes=5),
            expiry=start + SAS_WINDOW + self.sas_ttl,
        )
        return f"{self._url(name)}?{sas}"

    async def _request(self, method: str, name: str, **kwargs: Any) -> tuple[int, bytes]:
        """One REST call with the container SAS, tried again when a pooled connection was closed under it
        (every call here is idempotent); errors never carry the URL (it holds a signature)."""
        assert self._http is not None, "start() first"
        for attempt in range(3):
            try:
                async with self._http.request(method, f"{self._url(name)}?{self._write_sas}", **kwargs) as resp:
                    return resp.status, await resp.read()
            except aiohttp.ClientConnectionError as exc:
                if attempt == 2:
                    raise BlobError(f"blob {method} failed: {type(exc).__name__}") from None
                await asyncio.sleep(0.1 * (attempt + 1))
            except aiohttp.ClientError as exc:
                raise BlobError(f"blob {method} failed: {type(exc).__name__}") from None
        raise AssertionError("unreachable")

    async def _put(self, upload: Upload) -> None:
        headers = {"x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": upload.blob.content_type}
        for attempt in range(5):
            status, _ = await self._request("PUT", upload.blob.name, data=upload.data, headers=headers)
            if status < 300:
                self._present[upload.blob.name] = upload.blob.sha256
                return
            if status < 500 or attempt == 4:
                raise BlobError(f"blob upload failed with HTTP {status}")
            await asyncio.sleep(0.2 * (attempt + 1))

    async def _delete(self, name: str) -> None:
        self._present.pop(name, None)
        status, _ = await self._request("DELETE", name)
        if status not in (200, 202, 404):
            raise BlobError(f"blob delete failed with HTTP {status}")

    @staticmethod
    async def _bounded(coros: Iterable[Coroutine[Any, Any, None]], *, limit: int = UPLOAD_CONCURRENCY) -> None:
        """Await `coros` at most `limit` at a time; the first error cancels the rest.

        `limit` workers draw from one iterator, so a lazily made coroutine (a generator's) exists only once a
        worker awaits it: when the work stops early, none is left never awaited."""
        pending = iter(coros)

        async def worker() -> None:
            for coro in pending:
                await coro

        workers = [asyncio.ensure_future(worker()) for _ in range(limit)]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for coro in pending:  # given as a list: close those never started
                coro.close()
