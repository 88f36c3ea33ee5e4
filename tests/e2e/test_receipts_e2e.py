"""Signed proof end to end with the local key: devhost (key created in its state dir on first use), the emulator and
Azurite, through the HTTP API. The public keys come from GET /api/keys (no function key); the receipt is checked by
`python -m dsr.receipt`, by the docs' plain `cryptography` script and by their openssl + jq script; a one-byte change
fails all three. A rotation between two deletes keeps the first receipt verifiable. The export's manifest is signed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.storage.blob import ContainerClient

from dsr import signing
from dsr.delete.receipt_signature import check
from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.process import REPO_ROOT
from tests.e2e.helpers import TRAINING_KEY, start_app, submit, wait_finished
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CONTAINER = "e2e-receipts"
DOCS = REPO_ROOT / "docs" / "delete-and-receipts.md"


def docs_script(marker: str, fence: str) -> str:
    """The verification script printed in docs/delete-and-receipts.md, exactly as a reader would copy it."""
    text = DOCS.read_text("utf-8")
    return marker + text.split(f"```{fence}\n{marker}", 1)[1].split("```", 1)[0]


def public_keys(host: Devhost) -> dict[str, Any]:
    response = requests.get(host.url("api/keys"), timeout=30)  # anonymous: no function key
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/jwk-set+json")
    assert "max-age" in response.headers["Cache-Control"]
    return dict(response.json())


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def independent_checks(folder: Path, receipt: Path, jwks: Path, jwks_url: str) -> list[tuple[str, int, str]]:
    """(who, exit code, output) of the three verifiers on one receipt file."""
    (folder / "verify_receipt.py").write_text(docs_script("# verify_receipt.py", "python"))
    (folder / "verify_receipt.sh").write_text(docs_script("# verify_receipt.sh", "sh"))
    checks = {
        "dsr.receipt": [sys.executable, "-m", "dsr.receipt", "verify", str(receipt), "--jwks", jwks_url],
        "cryptography script": [sys.executable, "verify_receipt.py", str(receipt), str(jwks)],
        "openssl + jq script": ["sh", "verify_receipt.sh", str(receipt), str(jwks)],
    }
    out = []
    for who, command in checks.items():
        done = run(command, REPO_ROOT if who == "dsr.receipt" else folder)
        out.append((who, done.returncode, done.stdout + done.stderr))
    return out


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("jq") and shutil.which("xxd")),
                    reason="the docs' shell verifier needs openssl, jq and xxd")
def test_local_key_signs_receipts_and_manifests_that_anyone_can_check(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite, tmp_path: Path
) -> None:
    emulator = emulator_factory("demo", training_key=TRAINING_KEY)
    host = start_app(devhost_factory, emulator, azurite, CONTAINER)
    key_dir = host.state_dir / "signing-keys"
    assert not key_dir.exists()  # nothing is created before it is needed
    first_keys = public_keys(host)  # the first use creates the key, in devhost's state dir
    kid = first_keys["keys"][0]["kid"]
    assert (key_dir / f"{kid}.private.pem").is_file() and (key_dir / "current").read_text() == kid
    assert all("d" not in key for key in first_keys["keys"])
    container = ContainerClient.from_connection_string(azurite.connection_string, CONTAINER)
    projects = [p["id"] for p in emulator.state()["projects"]]

    # An export: manifest.json carries its signature (kid named, no file added); the whole export checks out.
    submit(host, {"operation": "export", "requestId": "sig-export", "projects": projects[:1],
                  "categories": ["projects", "tags"]})
    exported = wait_finished(host, "sig-export")
    assert exported["status"] == "Completed", exported
    manifest = json.loads(container.download_blob("sig-export/manifest.json").readall())
    assert (manifest["signature"]["alg"], manifest["signature"]["kid"]) == ("ES256", kid)
    assert kid in container.download_blob("sig-export/index.html").readall().decode()
    download = tmp_path / "export"
    for blob in container.list_blobs(name_starts_with="sig-export/"):
        target = download / blob.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(container.download_blob(blob.name).readall())
    done = run([sys.executable, "-m", "dsr.manifest", "verify", str(download / "sig-export"),
                "--jwks", host.url("api/keys")], REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr

    # A delete: its receipt is signed with the same key, stored once with its HTML summary.
    submit(host, {"operation": "delete", "requestId": "sig-delete-1", "projects": projects[:1], "confirm": "default"})
    first = wait_finished(host, "sig-delete-1")
    assert first["status"] == "Completed", first
    receipt = first["result"]["receipt"]  # §3: the receipt comes with GET /api/requests/{id}
    assert receipt["signature"]["alg"] == "ES256" and receipt["signature"]["keyId"] == kid
    assert check(receipt, keys=signing.key_set(first_keys)) == (True, f"signature valid (ES256, key {kid})")
    stored = container.download_blob("receipts/sig-delete-1.json").readall()
    assert json.loads(stored) == receipt
    page = container.download_blob("receipts/sig-delete-1.html").readall().decode()
    assert "Signature valid" in page and kid in page and "Check it yourself" in page

    # Three verifiers that need only the public keys accept the real receipt; one changed byte fails each.
    (tmp_path / "receipt.json").write_bytes(stored)
    (tmp_path / "jwks.json").write_text(json.dumps(public_keys(host)))
    for who, code, output in independent_checks(tmp_path, tmp_path / "receipt.json", tmp_path / "jwks.json",
                                                 host.url("api/keys")):
        assert code == 0, (who, output)
    changed = stored.replace(b'"after": 0', b'"after": 1', 1)
    assert changed != stored and len(changed) == len(stored)
    (tmp_path / "changed.json").write_bytes(changed)
    for who, code, output in independent_checks(tmp_path, tmp_path / "changed.json", tmp_path / "jwks.json",
                                                 host.url("api/keys")):
        assert code != 0, (who, output)

    # Rotation while the app runs: the next receipt is signed with the new key; the old receipt still verifies.
    rotated = run([sys.executable, "-m", "dsr.signing", "rotate", "--key-dir", str(key_dir)], REPO_ROOT)
    assert rotated.returncode == 0, rotated.stderr
    submit(host, {"operation": "delete", "requestId": "sig-delete-2", "projects": projects[1:2], "confirm": "default"})
    second = wait_finished(host, "sig-delete-2")
    assert second["status"] == "Completed", second
    new_kid = second["result"]["receipt"]["signature"]["keyId"]
    after_rotation = public_keys(host)
    assert new_kid != kid and [k["kid"] for k in after_rotation["keys"]] == [new_kid, kid]
    keys = signing.key_set(after_rotation)
    assert check(json.loads(stored), keys=keys)[0] and check(second["result"]["receipt"], keys=keys)[0]
    (tmp_path / "jwks.json").write_text(json.dumps(after_rotation))
    for who, code, output in independent_checks(tmp_path, tmp_path / "receipt.json", tmp_path / "jwks.json",
                                                 host.url("api/keys")):
        assert code == 0, (who, output)
