"""Housekeeping against Azurite: exports past retention go (with their scratch space), newer ones and receipts stay;
the history purge asks for finished instances created before the cutoff."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from dsr import scratch
from dsr.housekeeping import (
    HousekeepingError,
    Retention,
    delete_export,
    expired_exports,
    run_housekeeping,
)
from dsr.runtime_status import PURGEABLE_STATUSES
from dsr.scratch import scratch_sink
from dsr.sink import ExportSink
from localrun.azurite import Azurite

OLD = ["old-1/manifest.json", "old-1/index.html", "old-1/projects/p/images/a.png", ".work/old-1/chunk-0.json"]
UNFINISHED = ["half-done/projects/p/tags.json"]  # no manifest: its first blob tells its age
ORPHAN_WORK = [".work/orphan/chunk-0.json"]  # scratch space whose export never wrote anything
RECEIPTS = ["receipts/old-1.json", "receipts/gone-long-ago.json"]
STRAY = ["README.txt", "not an id/x.json"]  # never an export: left alone
NEW = ["new-1/manifest.json", "new-1/projects/p/images/b.png", ".work/new-1/chunk-0.json", "receipts/new-1.json"]


@pytest.fixture
def container(azurite: Azurite) -> Iterator[ContainerClient]:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.get_container_client(f"housekeeping-{uuid.uuid4().hex[:10]}")
    client.create_container()
    yield client
    client.delete_container()


def write(container: ContainerClient, names: list[str]) -> datetime:
    for name in names:
        container.upload_blob(name, b"{}", overwrite=True)
    return max(container.get_blob_client(n).get_blob_properties().last_modified for n in names)


def write_later(container: ContainerClient, names: list[str], after: datetime) -> datetime:
    """Write `names` until the service stamps them all later than `after` (Last-Modified has one-second
    resolution); the earliest of their stamps."""
    for _ in range(50):
        write(container, names)
        earliest = min(container.get_blob_client(n).get_blob_properties().last_modified for n in names)
        if earliest > after:
            return earliest
        time.sleep(0.1)
    raise AssertionError("the blob service never advanced its clock")


def names(container: ContainerClient) -> set[str]:
    return {blob.name for blob in container.list_blobs()}


def test_exports_past_retention_are_found_and_the_rest_kept(container: ContainerClient) -> None:
    old = write(container, OLD + UNFINISHED + ORPHAN_WORK + RECEIPTS + STRAY)
    new = write_later(container, NEW, after=old)
    now = new + timedelta(days=30)  # the cutoff falls between the old and the new writes
    assert expired_exports(container, now, 30) == ["half-done", "old-1", "orphan"]
    assert expired_exports(container, now + timedelta(seconds=5), 30) == ["half-done", "new-1", "old-1", "orphan"]
    earliest = min(blob.last_modified for blob in container.list_blobs())  # a write may straddle a second
    assert expired_exports(container, earliest + timedelta(days=30), 30) == []  # none older than the cutoff yet


def test_housekeeping_deletes_expired_exports_and_keeps_receipts(container: ContainerClient) -> None:
    old = write(container, OLD + UNFINISHED + ORPHAN_WORK + RECEIPTS + STRAY)
    new = write_later(container, NEW, after=old)
    history = FakeHistory(purged=3)
    report = asyncio.run(run_housekeeping(container, history, now=new + timedelta(days=30),
                                          retention=Retention(export_days=30, history_days=90)))
    assert report["exportsDeleted"] == ["half-done", "old-1", "orphan"]
    assert report["blobsDeleted"] == len(OLD + UNFINISHED + ORPHAN_WORK)
    assert names(container) == set(RECEIPTS + STRAY + NEW)
    assert report["instancesPurged"] == 3
    assert history.calls == [(new + timedelta(days=30) - timedelta(days=90), PURGEABLE_STATUSES)]


def test_deleting_is_idempotent_and_refuses_the_receipts_prefix(container: ContainerClient) -> None:
    write(container, OLD + RECEIPTS)
    assert delete_export(container, "old-1") == len(OLD)
    assert delete_export(container, "old-1") == 0
    with pytest.raises(ValueError, match="not an export"):
        delete_export(container, "receipts")
    with pytest.raises(ValueError, match="not an export"):
        delete_export(container, "../x")
    assert names(container) == set(RECEIPTS)


def test_many_blobs_are_deleted_in_batches(container: ContainerClient) -> None:
    write(container, [f"big/projects/p/images/{i}.png" for i in range(300)])
    assert delete_export(container, "big") == 300
    assert names(container) == set()


def test_scratch_containers_go_once_as_old_as_an_expired_export(azurite: Azurite, container: ContainerClient) -> None:
    """A request's scratch parts live in a container of their own (dsr/scratch.py), made by its first write; one
    left by an abandoned request goes once it is past retention, another export container's stays."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    ours = scratch_sink(service, container.container_name, "abandoned")
    theirs = scratch_sink(service, f"other-{container.container_name}", "abandoned")
    for work in (ours, theirs):
        work.write_json("chunk-0.json", {})  # makes the container
    made = ours.container.get_container_properties().last_modified

    asyncio.run(run_housekeeping(container, FakeHistory(), now=made + timedelta(days=29), retention=Retention(),
                                 service=service))
    assert ours.container.exists()
    asyncio.run(run_housekeeping(container, FakeHistory(), now=made + timedelta(days=31), retention=Retention(),
                                 service=service))
    assert not ours.container.exists() and theirs.container.exists()
    assert scratch.clear(theirs) == 1 and not theirs.container.exists()
    assert scratch.clear(theirs) == 0  # gone already
    write(container, ["keep/manifest.json", ".work/r/part.jsonl"])
    assert scratch.clear(ExportSink(container, ".work/r")) == 1  # not a scratch container: only that prefix goes
    assert names(container) == {"keep/manifest.json"}


def test_a_missing_container_has_nothing_to_expire(azurite: Azurite) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    missing = service.get_container_client(f"missing-{uuid.uuid4().hex[:10]}")
    report = asyncio.run(run_housekeeping(missing, FakeHistory(), now=datetime.now(UTC), retention=Retention()))
    assert report == {"exportsDeleted": [], "blobsDeleted": 0, "instancesPurged": 0}


def test_a_failing_purge_still_lets_exports_expire_and_is_raised(container: ContainerClient) -> None:
    write(container, OLD)
    history = FakeHistory(fail=True)
    with pytest.raises(ConnectionError):
        asyncio.run(run_housekeeping(container, history, now=datetime.now(UTC) + timedelta(days=31),
                                     retention=Retention()))
    assert names(container) == set()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Retention(30, 90)),
        ({"EXPORT_RETENTION_DAYS": "", "HISTORY_RETENTION_DAYS": ""}, Retention(30, 90)),
        ({"EXPORT_RETENTION_DAYS": "7", "HISTORY_RETENTION_DAYS": "0"}, Retention(7, 0)),
    ],
)
def test_retention_settings(env: dict[str, str], expected: Retention) -> None:
    assert Retention.from_env(env) == expected


@pytest.mark.parametrize(("env", "name"), [({"EXPORT_RETENTION_DAYS": "30d"}, "EXPORT_RETENTION_DAYS"),
                                           ({"HISTORY_RETENTION_DAYS": "-1"}, "HISTORY_RETENTION_DAYS")])
def test_bad_retention_settings_name_the_setting(env: dict[str, str], name: str) -> None:
    with pytest.raises(HousekeepingError, match=name):
        Retention.from_env(env)


class FakeHistory:
    """Records purge calls."""

    def __init__(self, *, purged: int = 0, fail: bool = False) -> None:
        self.calls: list[tuple[datetime, tuple[str, ...]]] = []
        self.purged = purged
        self.fail = fail

    async def purge_finished(self, created_before: datetime, statuses: tuple[str, ...]) -> int:
        if self.fail:
            raise ConnectionError("task hub unavailable")
        self.calls.append((created_before, statuses))
        return self.purged
