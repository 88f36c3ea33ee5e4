"""Where the shared rate budget lives (dsr/ratebudget.py): one small JSON blob per Custom Vision resource endpoint,
`{"next": <epoch seconds of the next free slot>}` in container `dsr-ratebudget` of the export account, read with its
ETag and written only If-Match that ETag (If-None-Match: * when new), so concurrent writers never lose an update."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

from dsr.settings import Settings

CONTAINER = "dsr-ratebudget"
RETRIES = 2  # a failed read or write of the record is tried this many times more...
RETRY_BACKOFF = 0.2  # ...this many seconds apart (+/- RETRY_JITTER): every Training call of the process waits
RETRY_JITTER = 0.1  # for it. The Blob SDK's default (ExponentialRetry) waits 15 +/- 3 s before its first retry.

log = logging.getLogger("dsr.ratebudget")


class Conflict(Exception):
    """The record changed since it was read (412), or was created by someone else first (409)."""


class SlotStore(Protocol):
    """The shared record: the next free slot time and a version tag for conditional writes."""

    def load(self) -> tuple[float, str | None]:
        """(next free slot, etag); (0.0, None) when there is no record yet."""
        ...

    def save(self, next_at: float, etag: str | None) -> str:
        """Write `next_at` if the record is still at `etag` (None: only if there is none); the new etag,
        or `Conflict`."""
        ...


class BlobSlotStore:
    """The record as a block blob, written with If-Match / If-None-Match: * (Blob service conditional headers)."""

    def __init__(self, container: Any, name: str, *, endpoint: str) -> None:
        self.container = container  # azure.storage.blob.ContainerClient
        self.blob = container.get_blob_client(name)
        self.endpoint = endpoint
        self._writer = f"{socket.gethostname()}:{os.getpid()}"

    def load(self) -> tuple[float, str | None]:
        try:
            download = self.blob.download_blob(retry_hook=_log_retry)
        except ResourceNotFoundError:
            return 0.0, None
        body = json.loads(download.readall() or b"{}")
        return float(body.get("next") or 0.0), download.properties.etag

    def save(self, next_at: float, etag: str | None) -> str:
        data = json.dumps({"next": round(next_at, 6), "endpoint": self.endpoint, "writer": self._writer})
        conditions: dict[str, Any] = (
            {"overwrite": False} if etag is None
            else {"overwrite": True, "etag": etag, "match_condition": MatchConditions.IfNotModified}
        )
        try:
            try:
                result = self.blob.upload_blob(data, retry_hook=_log_retry, **conditions)
            except ResourceNotFoundError:  # no container yet: make it (once per account) and write again
                with contextlib.suppress(ResourceExistsError):
                    self.container.create_container()
                result = self.blob.upload_blob(data, retry_hook=_log_retry, **conditions)
        except (ResourceModifiedError, ResourceExistsError) as exc:
            raise Conflict(str(exc.reason)) from None
        except HttpResponseError as exc:
            if exc.status_code in (409, 412):
                raise Conflict(str(exc.reason)) from None
            raise
        return str(result["etag"])


def _log_retry(*, retry_count: int, response: Any = None, error: Any = None, **_: Any) -> None:
    """One warning per retried request of the record: what failed, never the URL (it may carry a SAS)."""
    reason = f"HTTP {response.status_code}" if response is not None else type(error).__name__
    log.warning("rate budget record request failed (%s): retry %d of %d", reason, retry_count + 1, RETRIES)


def record_name(endpoint: str) -> str:
    """The blob holding a resource's record: one per endpoint, whatever alias names it."""
    return hashlib.sha256(endpoint.rstrip("/").lower().encode()).hexdigest()[:32] + ".json"


def record_container(settings: Settings) -> Any:
    """The budget container on its own client: short timeouts and few, quick retries, so a storage outage turns
    into pacing alone within seconds instead of stalling every Training API call."""
    from azure.storage.blob import BlobServiceClient, LinearRetry

    from dsr.storage import client_options

    # `retry_backoff_factor` and the like are azure-core's: the Blob SDK ignores them, its own policy decides.
    retry = LinearRetry(backoff=RETRY_BACKOFF, random_jitter_range=RETRY_JITTER, retry_total=RETRIES)
    options = {**client_options(), "connection_timeout": 5, "read_timeout": 10, "retry_policy": retry}
    if settings.export_connection_string:
        service = BlobServiceClient.from_connection_string(settings.export_connection_string, **options)
    else:
        from azure.identity import DefaultAzureCredential

        service = BlobServiceClient(str(settings.export_account_url), credential=DefaultAzureCredential(), **options)
    return service.get_container_client(CONTAINER)
