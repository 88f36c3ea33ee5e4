"""Retention and housekeeping: exports past EXPORT_RETENTION_DAYS are deleted (receipts never), and the Durable
history of finished requests past HISTORY_RETENTION_DAYS is purged (history holds request inputs and outputs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypedDict

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

from dsr import scratch
from dsr.layout import RECEIPTS, WORK, manifest_path
from dsr.request import is_request_id
from dsr.runtime_status import PURGEABLE_STATUSES

log = logging.getLogger(__name__)

SCHEDULE_SETTING = "HOUSEKEEPING_SCHEDULE"
DEFAULT_SCHEDULE = "0 30 2 * * *"  # daily at 02:30 UTC
EXPORT_RETENTION_SETTING = "EXPORT_RETENTION_DAYS"
HISTORY_RETENTION_SETTING = "HISTORY_RETENTION_DAYS"
DEFAULT_EXPORT_RETENTION_DAYS = 30
DEFAULT_HISTORY_RETENTION_DAYS = 90
DELETE_BATCH = 256  # blobs per batch delete call (the service allows 256)


class HousekeepingError(ValueError):
    """A retention setting is malformed; the message names it."""


@dataclass(frozen=True)
class Retention:
    """How long exports and finished requests' history are kept, in days (0: until the next run)."""

    export_days: int = DEFAULT_EXPORT_RETENTION_DAYS
    history_days: int = DEFAULT_HISTORY_RETENTION_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Retention:
        return cls(
            export_days=_days(env, EXPORT_RETENTION_SETTING, DEFAULT_EXPORT_RETENTION_DAYS),
            history_days=_days(env, HISTORY_RETENTION_SETTING, DEFAULT_HISTORY_RETENTION_DAYS),
        )


class History(Protocol):
    """The Durable task hub's history, as one plain call."""

    async def purge_finished(self, created_before: datetime, statuses: tuple[str, ...]) -> int: ...


class Report(TypedDict):
    """What one housekeeping run removed."""

    exportsDeleted: list[str]
    blobsDeleted: int
    instancesPurged: int


def expired_exports(container: ContainerClient, now: datetime, retention_days: int) -> list[str]:
    """Request ids whose export was written before `now - retention_days` (by its manifest, else its first blob).

    Scratch space of a request with no export left (`.work/{id}/` only) counts by its first blob. The
    `receipts/` prefix is never an export.
    """
    cutoff = now - timedelta(days=retention_days)
    expired: list[str] = []
    for request_id in _request_prefixes(container, ""):
        written = _written(container, request_id)
        if written is not None and written < cutoff:
            expired.append(request_id)
    for request_id in _request_prefixes(container, f"{WORK}/"):
        if request_id in expired or _first_blob(container, f"{request_id}/") is not None:
            continue  # its export decides
        written = _first_blob(container, f"{WORK}/{request_id}/")
        if written is not None and written < cutoff:
            expired.append(request_id)
    return sorted(expired)


def delete_export(container: ContainerClient, request_id: str) -> int:
    """Delete every blob of the request's export and scratch space (never `receipts/`); how many were deleted."""
    if not is_request_id(request_id) or request_id == RECEIPTS:
        raise ValueError(f"not an export's request id: {request_id!r}")
    deleted = 0
    for prefix in (f"{request_id}/", f"{WORK}/{request_id}/"):
        names = [blob.name for blob in container.list_blobs(name_starts_with=prefix)]
        for start in range(0, len(names), DELETE_BATCH):
            deleted += _delete(container, names[start : start + DELETE_BATCH])
    return deleted


async def run_housekeeping(
    container: ContainerClient | None, history: History, *, now: datetime, retention: Retention,
    service: BlobServiceClient | None = None,
) -> Report:
    """Delete expired exports (and, given the export account's `service`, scratch containers as old), then purge
    old finished history; each part runs even when the other fails."""
    report = Report(exportsDeleted=[], blobsDeleted=0, instancesPurged=0)
    failures: list[BaseException] = []
    if container is not None:
        try:
            await asyncio.to_thread(_expire_exports, container, now, retention.export_days, report)
            if service is not None:
                await asyncio.to_thread(_expire_scratch, service, container.container_name, now,
                                        retention.export_days)
        except Exception as exc:
            log.error("housekeeping: deleting expired exports failed (%s: %s)", type(exc).__name__, exc)
            failures.append(exc)
    try:
        created_before = now - timedelta(days=retention.history_days)
        report["instancesPurged"] = await history.purge_finished(created_before, PURGEABLE_STATUSES)
        log.info("housekeeping: purged the history of %d finished instances created before %s",
                 report["instancesPurged"], created_before.isoformat())
    except Exception as exc:
        log.error("housekeeping: purging history failed (%s: %s)", type(exc).__name__, exc)
        failures.append(exc)
    if failures:
        raise failures[0]
    return report


def _expire_exports(container: ContainerClient, now: datetime, days: int, report: Report) -> None:
    try:
        expired = expired_exports(container, now, days)
    except ResourceNotFoundError:  # no export container yet: nothing to expire
        return
    for request_id in expired:
        count = delete_export(container, request_id)
        report["exportsDeleted"].append(request_id)
        report["blobsDeleted"] += count
        log.info("housekeeping: export %s past %d days deleted (%d blobs)", request_id, days, count)


def _expire_scratch(service: BlobServiceClient, export_container: str, now: datetime, days: int) -> None:
    """Scratch containers made before the cutoff: a request that old is finished, or abandoned."""
    for name in scratch.expired(service, export_container, now - timedelta(days=days)):
        with contextlib.suppress(ResourceNotFoundError):
            service.delete_container(name)
            log.info("housekeeping: scratch container %s past %d days deleted", name, days)


def _request_prefixes(container: ContainerClient, under: str) -> Iterator[str]:
    """Request ids that are "directories" directly under `under` (receipts/ and .work/ excluded at the top)."""
    for item in container.walk_blobs(name_starts_with=under or None, delimiter="/"):
        name = str(item.name)
        if not name.endswith("/"):
            continue  # a blob, not a prefix
        request_id = name[len(under):-1]
        if is_request_id(request_id) and not (under == "" and request_id == RECEIPTS):
            yield request_id


def _written(container: ContainerClient, request_id: str) -> datetime | None:
    try:
        return container.get_blob_client(manifest_path(request_id)).get_blob_properties().last_modified
    except ResourceNotFoundError:  # an unfinished or failed export: its first blob tells its age
        return _first_blob(container, f"{request_id}/")


def _first_blob(container: ContainerClient, prefix: str) -> datetime | None:
    for blob in container.list_blobs(name_starts_with=prefix, results_per_page=1):
        return blob.last_modified
    return None


def _delete(container: ContainerClient, names: list[str]) -> int:
    responses: Any = container.delete_blobs(*names, raise_on_any_failure=False)
    deleted = 0
    for response in responses:
        if response.status_code in (200, 202):
            deleted += 1
        elif response.status_code != 404:  # gone already is fine (two housekeepers, a retried run)
            raise RuntimeError(f"deleting a blob failed with HTTP {response.status_code}")
    return deleted


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HousekeepingError(f"{name} must be a whole number of days, got {raw!r}") from None
    if value < 0:
        raise HousekeepingError(f"{name} must not be negative, got {raw!r}")
    return value
