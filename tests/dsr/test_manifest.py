"""write_manifest on Azurite: one listing feeds index.html and manifest.json, which lists every file once."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

import dsr.manifest
from dsr.manifest import manifest_header, write_manifest
from dsr.sink import ExportSink
from localstack.azurite import Azurite


@pytest.fixture
def container(azurite: Azurite) -> ContainerClient:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    return service.create_container(f"manifest-{uuid.uuid4().hex[:12]}")


def _header() -> dict:  # type: ignore[type-arg]
    result = {"status": "complete", "count": 1, "error": None}
    return manifest_header(request_id="req-m", resource="res", started_at="2026-01-01T00:00:00Z",
                           completed_at="2026-01-01T00:01:00Z", categories={"account": result})  # type: ignore[dict-item]


@pytest.mark.parametrize("spool_bytes", [8 * 1024 * 1024, 64])  # in memory, and moved to disk
def test_manifest_lists_every_file_with_index_in_order(
    container: ContainerClient, monkeypatch: pytest.MonkeyPatch, spool_bytes: int
) -> None:
    monkeypatch.setattr(dsr.manifest, "SPOOL_IN_MEMORY", spool_bytes)
    sink = ExportSink(container, "req-m")
    for path in ("account.json", "projects/p/images/a.png", "projects/p/images.jsonl", "zz.json"):
        sink.write_bytes(path, path.encode())
    sink.write_bytes("manifest.json", b"an earlier attempt's manifest")

    written = write_manifest(sink, _header())

    manifest = json.loads(container.download_blob("req-m/manifest.json").readall())
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(paths) == ["account.json", "index.html", "projects/p/images.jsonl",
                                      "projects/p/images/a.png", "zz.json"]
    assert written["files"] == 5
    for entry in manifest["files"]:
        data = container.download_blob(f"req-m/{entry['path']}").readall()
        assert (entry["size"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    index = container.download_blob("req-m/index.html").readall().decode()
    assert "account.json" in index and "projects/p/images/: 1 files" in index
