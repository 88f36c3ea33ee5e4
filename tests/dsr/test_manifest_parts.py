"""The export's file list in bounded parts on Azurite: the manifest written from the parts is the one a single
listing writes, a retried part lists the same files, and a part that lost files stops the manifest."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from dsr.export import tasks
from dsr.export.manifest import manifest_header, write_manifest
from dsr.export.manifest_parts import PartMissing, list_part, read_parts
from dsr.job import Job
from dsr.layout import manifest_part
from dsr.scratch import scratch_sink
from dsr.sink import ExportSink
from localrun.azurite import Azurite

FILES = [f"projects/p/images/{n:03d}.png" for n in range(23)] + ["account/account.json", "projects/p/tags.json"]


@pytest.fixture
def service(azurite: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture
def container(service: BlobServiceClient) -> ContainerClient:
    return service.create_container(f"parts-{uuid.uuid4().hex[:12]}")


def _export(container: ContainerClient, request_id: str) -> tuple[ExportSink, ExportSink]:
    """The export's files, and the request's scratch (its own container, made by the first part)."""
    sink = ExportSink(container, request_id)
    for path in FILES:
        sink.write_bytes(path, path.encode())
    sink.write_bytes("manifest.json", b"an earlier attempt's manifest")
    service = BlobServiceClient(container.url.rsplit("/", 1)[0], credential=container.credential)
    return sink, scratch_sink(service, container.container_name, request_id)


def _header(request_id: str) -> dict:  # type: ignore[type-arg]
    return manifest_header(request_id=request_id, resource="res", started_at="2026-01-01T00:00:00Z",
                           completed_at="2026-01-01T00:01:00Z", categories={})


def _all_parts(sink: ExportSink, work: ExportSink, max_files: int) -> list[int]:
    files_per_part: list[int] = []
    while True:
        listed = list_part(sink, work, len(files_per_part), max_files=max_files)
        files_per_part.append(listed["files"])
        if listed["done"]:
            return files_per_part


def test_a_manifest_from_parts_is_the_manifest_of_one_listing(container: ContainerClient) -> None:
    one, _ = _export(container, "req-one")
    whole = write_manifest(one, _header("req-x"))
    sink, work = _export(container, "req-parts")

    files_per_part = _all_parts(sink, work, max_files=4)
    # 26 blobs listed 4 a page, the earlier attempt's manifest.json left out of the first part
    assert files_per_part == [3, 4, 4, 4, 4, 4, 2] and sum(files_per_part) == len(FILES)
    parted = write_manifest(sink, _header("req-x"), files=read_parts(work, files_per_part))

    assert parted["files"] == whole["files"] == len(FILES) + 1  # and index.html
    read = container.download_blob
    assert read("req-parts/manifest.json").readall() == read("req-one/manifest.json").readall()
    assert parted["sha256"] == whole["sha256"]


def test_the_manifest_activity_retried_after_it_wrote_finds_every_part(container: ContainerClient,
                                                                       tmp_path: Path) -> None:
    """The scratch (the parts) is cleared by its own activity after the manifest's: a manifest activity that Durable
    runs again after it wrote (its result lost) still reads every part and writes the same file list."""
    sink, work = _export(container, "req-again")
    files_per_part = _all_parts(sink, work, max_files=10)
    settings = SimpleNamespace(signing_key_vault_key_id="", signing_key_dir=str(tmp_path / "keys"))
    job = Job(request_id="req-again", alias="res", project_id=None, client=None, sink=sink, work=work,  # type: ignore[arg-type]
              copier=None, settings=settings)  # type: ignore[arg-type]
    payload = {"startedAt": "2026-01-01T00:00:00Z", "completedAt": "2026-01-01T00:01:00Z", "categories": {},
               "parts": files_per_part}
    first = tasks.manifest(job, payload)
    again = tasks.manifest(job, payload)
    assert (again["path"], again["files"]) == (first["path"], first["files"]) == ("manifest.json", len(FILES) + 1)
    container.upload_blob(".work/req-again/cancelled", b"")  # a marker beside the parts, in the export container
    assert tasks.clear_scratch(job, {})["count"] == 2 * len(files_per_part)  # each part, each but the last's .next
    assert not list(container.list_blobs(name_starts_with=".work/req-again/"))
    assert not work.container.exists()  # the scratch container, deleted in one call


def test_a_retried_part_lists_the_same_files_again(container: ContainerClient) -> None:
    sink, work = _export(container, "req-retry")
    list_part(sink, work, 0, max_files=10)
    second = list_part(sink, work, 1, max_files=10)
    first_part = work.blob(manifest_part(1)).download_blob().readall()
    assert list_part(sink, work, 1, max_files=10) == second  # the activity ran again after a crash
    assert work.blob(manifest_part(1)).download_blob().readall() == first_part
    assert second == {"part": 1, "files": 10, "done": False}


def test_a_part_that_lost_files_stops_the_manifest(container: ContainerClient) -> None:
    sink, work = _export(container, "req-lost")
    files_per_part = _all_parts(sink, work, max_files=10)
    work.blob(manifest_part(1)).upload_blob(b"", overwrite=True)
    with pytest.raises(PartMissing, match="part 1 of the export's file list holds 0 files, its listing wrote 10"):
        write_manifest(sink, _header("req-lost"), files=read_parts(work, files_per_part))
    assert not sink.blob("manifest.json").download_blob().readall().startswith(b"{")  # the old one is still there
