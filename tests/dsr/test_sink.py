"""The export sink and copier against a real Azurite."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, ContainerClient, generate_blob_sas

from dsr.export.copier import Copier, CopyVerificationError
from dsr.sink import ExportSink
from localrun.azurite import ACCOUNT, ACCOUNT_KEY, Azurite


@pytest.fixture
def container(azurite: Azurite) -> ContainerClient:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    return service.create_container(f"sink-{uuid.uuid4().hex[:12]}")


def sas_url(container: ContainerClient, name: str) -> str:
    token = generate_blob_sas(ACCOUNT, container.container_name, name, account_key=ACCOUNT_KEY,
                              permission=BlobSasPermissions(read=True), expiry=datetime.now(UTC) + timedelta(hours=1))
    return f"{container.get_blob_client(name).url}?{token}"


def test_streamed_file_is_hashed_and_rewritable(container: ContainerClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import dsr.sink

    monkeypatch.setattr(dsr.sink, "BLOCK_SIZE", 1000)  # several blocks
    sink = ExportSink(container, "req-1")
    records = [{"n": n, "text": "é" * n} for n in range(300)]
    for _ in range(2):  # a retried write replaces the first one
        record, count = sink.write_lines("p/images.jsonl", iter(records))
    data = container.download_blob("req-1/p/images.jsonl").readall()
    assert count == 300 and record["size"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest()
    assert list(sink.read_lines("p/images.jsonl")) == records
    assert [f["path"] for f in sink.list_files()] == ["p/images.jsonl"]
    assert list(sink.read_lines("missing.jsonl")) == []


def test_json_written_is_scrubbed_of_sas_tokens(container: ContainerClient) -> None:
    sink = ExportSink(container, "req-2")
    sink.write_json("project.json", {"thumbnailUri": "http://h/x.jpg?sv=1&sig=TOPSECRET"})
    assert json.loads(container.download_blob("req-2/project.json").readall()) == {"thumbnailUri": "http://h/x.jpg"}


def test_copier_uploads_a_small_image_from_its_hashing_read_and_records_the_hash(container: ContainerClient) -> None:
    payload = b"\x89PNG" + bytes(range(256)) * 10
    container.upload_blob("source/img-1", payload, content_settings=_png())
    copier = Copier(ExportSink(container, "req-3"))
    record = copier.copy(sas_url(container, "source/img-1"), "projects/p/images/img-1")
    assert record == {"path": "projects/p/images/img-1.png", "size": len(payload),
                      "sha256": hashlib.sha256(payload).hexdigest()}
    blob = container.get_blob_client("req-3/projects/p/images/img-1.png")
    assert blob.download_blob().readall() == payload
    props = blob.get_blob_properties()
    assert props.copy.source is None and props.content_settings.content_type == "image/png"
    assert bytes(props.content_settings.content_md5) == hashlib.md5(payload).digest()
    assert copier.copy(sas_url(container, "source/img-1"), "projects/p/images/img-1", reuse=True) == record
    listed = list(ExportSink(container, "req-3").list_files())
    assert listed == [record]


def test_copier_streams_when_server_side_copy_is_off(
    container: ContainerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dsr.export.copier

    monkeypatch.setattr(dsr.export.copier, "SMALL_FILE", 0)  # 10 bytes count as large: no one-PUT upload
    container.upload_blob("source/img-2", b"jpeg-bytes", content_settings=_png("image/jpeg"))
    record = Copier(ExportSink(container, "req-4"), server_side=False).copy(
        sas_url(container, "source/img-2"), "images/img-2")
    assert record["path"] == "images/img-2.jpg"
    assert container.download_blob("req-4/images/img-2.jpg").readall() == b"jpeg-bytes"


def test_copier_refuses_a_source_whose_bytes_do_not_match_its_md5(container: ContainerClient) -> None:
    blob = container.upload_blob("source/img-3", b"original", content_settings=_png())
    blob.set_http_headers(content_settings=_png(md5=hashlib.md5(b"other").digest()))  # the recorded MD5 disagrees
    with pytest.raises(CopyVerificationError):
        Copier(ExportSink(container, "req-5")).copy(sas_url(container, "source/img-3"), "images/img-3")
    assert not list(container.list_blobs(name_starts_with="req-5/"))


def _png(content_type: str = "image/png", md5: bytes | None = None):  # type: ignore[no-untyped-def]
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type=content_type, content_md5=md5)


def test_server_side_copy_in_several_blocks_keeps_no_copy_source(
    container: ContainerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dsr.export.copier

    monkeypatch.setattr(dsr.export.copier, "SERVER_BLOCK", 1000)  # 2,564 bytes: three blocks
    monkeypatch.setattr(dsr.export.copier, "SMALL_FILE", 100)  # and too large for the one-PUT upload
    payload = bytes(range(256)) * 10 + b"tail"
    container.upload_blob("source/model", payload, content_settings=_png("application/zip"))
    record = Copier(ExportSink(container, "req-6")).copy(sas_url(container, "source/model"), "models/m")
    assert record["path"] == "models/m.zip" and record["size"] == len(payload)
    blob = container.get_blob_client("req-6/models/m.zip")
    assert blob.download_blob().readall() == payload
    props = blob.get_blob_properties()
    assert props.copy.source is None  # no source URL (and so no SAS signature) recorded on the export
    assert props.metadata["sha256"] == hashlib.sha256(payload).hexdigest()


def test_empty_source_is_copied_as_an_empty_file(container: ContainerClient) -> None:
    container.upload_blob("source/empty", b"", content_settings=_png())
    record = Copier(ExportSink(container, "req-7")).copy(sas_url(container, "source/empty"), "images/e")
    assert record == {"path": "images/e.png", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()}
