"""write_manifest on Azurite: one listing feeds index.html and manifest.json, which lists every file once."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

import dsr.export.manifest
import dsr.manifest
from dsr import signing
from dsr.canonical_json import canonical_json
from dsr.export.manifest import manifest_header, write_manifest
from dsr.files import FileRecord
from dsr.signing import LocalKeySigner
from dsr.sink import ExportSink
from localrun.azurite import Azurite


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
    monkeypatch.setattr(dsr.export.manifest, "SPOOL_IN_MEMORY", spool_bytes)
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


# Signed manifests: a `signature` member whose JWS signs the contract members and the file list's digest.


class RecordingSink(ExportSink):
    """An ExportSink that remembers the order files were written in."""

    def __init__(self, container: ContainerClient, prefix: str) -> None:
        super().__init__(container, prefix)
        self.order: list[str] = []

    def write_bytes(self, path: str, data: bytes, *, content_type: str | None = None) -> FileRecord:
        self.order.append(path)
        return super().write_bytes(path, data, content_type=content_type)

    def write_stream(self, path: str, chunks: Iterable[bytes], *, content_type: str | None = None) -> FileRecord:
        self.order.append(path)
        return super().write_stream(path, chunks, content_type=content_type)


def _download(container: ContainerClient, prefix: str, into: Path) -> Path:
    for blob in container.list_blobs(name_starts_with=f"{prefix}/"):
        target = into / blob.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(container.download_blob(blob.name).readall())
    return into / prefix


def test_a_signed_manifest_is_checked_by_anyone_with_the_public_key(
    container: ContainerClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dsr.export.manifest, "SPOOL_IN_MEMORY", 64)  # the listing is read twice from a disk spool
    signer = LocalKeySigner(tmp_path / "keys")
    kid = signer.current_kid()
    sink = RecordingSink(container, "req-s")
    for path in ("account.json", "projects/p/images/a.png", "projects/p/tags.json"):
        sink.write_bytes(path, path.encode())
    sink.order.clear()

    written = write_manifest(sink, _header(), signer=signer)

    assert sink.order == ["index.html", "manifest.json"]  # nothing beside the manifest, which is still last
    manifest_bytes = container.download_blob("req-s/manifest.json").readall()
    manifest = json.loads(manifest_bytes)
    contract = {"schemaVersion", "requestId", "resource", "startedAt", "completedAt", "categories", "files"}
    assert set(manifest) == contract | {"signature"}
    assert [f["path"] for f in manifest["files"]] == ["account.json", "index.html", "projects/p/images/a.png",
                                                      "projects/p/tags.json"]  # every file written but itself
    assert {b.name for b in container.list_blobs(name_starts_with="req-s/")} == \
        {f"req-s/{f['path']}" for f in manifest["files"]} | {"req-s/manifest.json"}
    signature = manifest["signature"]
    assert (signature["alg"], signature["kid"], written["kid"]) == ("ES256", kid, kid)
    valid, _, payload = signing.verify(signature["jws"], signing.key_set(signing.jwks(signer)))
    assert valid and payload == canonical_json(json.loads(payload))  # RFC 8785 bytes
    files_json = json.dumps(manifest["files"], sort_keys=True, separators=(",", ":")).encode()  # = RFC 8785 here
    assert json.loads(payload) == {
        "kind": "customvision-dsr-export-manifest", "schemaVersion": "1.0", "requestId": "req-m", "resource": "res",
        "startedAt": "2026-01-01T00:00:00Z", "completedAt": "2026-01-01T00:01:00Z",
        "categories": manifest["categories"],
        "files": {"count": 4, "sha256": hashlib.sha256(files_json).hexdigest()},
    }
    index = container.download_blob("req-s/index.html").readall().decode()
    assert kid in index and "/api/keys" in index

    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(signing.jwks(signer)))
    keys = signing.key_set(signing.jwks(signer))
    folder = _download(container, "req-s", tmp_path / "download")
    assert dsr.manifest.main(["verify", str(folder), "--jwks", str(jwks_file)]) == 0
    (folder / "projects/p/tags.json").write_bytes(b"changed")  # a file changed after the export
    assert dsr.manifest.main(["verify", str(folder), "--jwks", str(jwks_file)]) == 1
    (folder / "projects/p/tags.json").write_bytes(b"projects/p/tags.json")
    for old, new in ((b'"count": 1', b'"count": 2'), (b'"size": 12', b'"size": 13')):
        assert old in manifest_bytes
        (folder / "manifest.json").write_bytes(manifest_bytes.replace(old, new, 1))
        valid, findings = dsr.export.manifest.verify_export(folder, keys)
        assert not valid and "not the manifest that was signed" in findings[-1]
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    (folder / "manifest.json").write_text(json.dumps(unsigned))
    assert dsr.export.manifest.verify_export(folder, keys) == (False, ["manifest.json is not signed"])


def test_the_manifest_is_not_written_when_the_key_rotates_while_signing(
    container: ContainerClient, tmp_path: Path
) -> None:
    signer = LocalKeySigner(tmp_path / "keys")

    class Rotating:
        def current_kid(self) -> str:
            kid = signer.current_kid()
            signer.rotate()
            return kid

        def sign(self, payload: bytes) -> str:
            return signer.sign(payload)

        def public_keys(self) -> list[dict]:  # type: ignore[type-arg]
            return signer.public_keys()

    sink = ExportSink(container, "req-r")
    sink.write_bytes("account.json", b"{}")
    with pytest.raises(signing.SigningError, match="retry"):
        write_manifest(sink, _header(), signer=Rotating())
    assert not container.get_blob_client("req-r/manifest.json").exists()
