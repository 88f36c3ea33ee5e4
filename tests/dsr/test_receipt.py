"""Receipts: what is signed, sign/verify, tampering, wrong or missing keys, the command, and a real delete."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient
from joserfc.jwk import KeySet

from customvision import TrainingClient
from dsr import signing
from dsr.categories import PROJECT_CATEGORIES
from dsr.delete.account import delete_account_category, exported_models_result
from dsr.delete.order import steps_for
from dsr.delete.plan import ProjectPlan, plan_project
from dsr.delete.receipt import build_receipt
from dsr.delete.receipt_hmac import ReceiptKeyError
from dsr.delete.receipt_signature import check, sign, signed_bytes, verify
from dsr.delete.receipt_store import ReceiptExistsError, issue_receipt, read_receipt, write_receipt
from dsr.delete.steps import run_step
from dsr.delete.verify import Verification, verify_project
from dsr.receipt import main
from dsr.settings import ResourceConfig
from dsr.signing import LocalKeySigner
from localrun.azurite import Azurite
from localrun.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
LEGACY = Path(__file__).with_name("data") / "legacy-hmac-receipt.json"  # written by the HMAC code before ES256
LEGACY_KEY = "legacy-receipt-signing-key-2026"


@pytest.fixture
def signer(tmp_path: Path) -> LocalKeySigner:
    return LocalKeySigner(tmp_path / "keys")


@pytest.fixture
def other_signer(tmp_path: Path) -> LocalKeySigner:
    return LocalKeySigner(tmp_path / "other-keys")


def _keys(signer: signing.Signer) -> KeySet:
    return signing.key_set(signing.jwks(signer))


def _plan(project_id: str, **counts: Any) -> ProjectPlan:
    plan = ProjectPlan(projectId=project_id, exists=True, iterations=2, publishedIterations=1, workspaceImages=10,
                       iterationImages={"it-1": 4}, tags=3, iterationTags=3, predictions=5)
    plan.update(counts)  # type: ignore[typeddict-item]
    return plan


def _clean(project_id: str, categories: list[str]) -> Verification:
    gone = ProjectPlan(projectId=project_id, exists=False, iterations=0, publishedIterations=0, workspaceImages=0,
                       iterationImages={}, tags=0, iterationTags=0, predictions=0)
    return Verification(projectId=project_id, remaining=dict.fromkeys(categories, 0), clean=True, notes=[],
                        counts=gone)


def _receipt(**overrides: Any) -> dict[str, Any]:
    categories = ["projects", "images", "tags", "predictions"]
    options: dict[str, Any] = {
        "request_id": "case-1",
        "resource": "default",
        "categories": categories,
        "started_at": "2026-11-22T10:00:00.000Z",
        "completed_at": "2026-11-22T10:05:00.000Z",
        "plans": [_plan("p-1")],
        "verifications": [_clean("p-1", categories)],
    }
    return dict(build_receipt(**{**options, **overrides}))


def test_build_receipt_counts_before_and_after_per_category() -> None:
    receipt = _receipt()
    assert receipt["results"]["images"] == {"status": "complete", "before": 14, "after": 0, "errorCode": None}
    assert receipt["results"]["tags"]["before"] == 6 and receipt["results"]["projects"]["before"] == 1
    assert receipt["projects"] == [{
        "projectId": "p-1", "clean": True,
        "before": {"projects": 1, "images": 14, "tags": 6, "predictions": 5},
        "after": {"projects": 0, "images": 0, "tags": 0, "predictions": 0},
    }]
    assert receipt["verification"] == {"clean": True, "checkedAt": "2026-11-22T10:05:00.000Z",
                                       "remaining": {"projects": 0, "images": 0, "tags": 0, "predictions": 0},
                                       "notes": []}
    assert "signature" not in receipt


def test_leftovers_fail_the_category_whatever_the_steps_said() -> None:
    left = Verification(projectId="p-1", remaining={"images": 2}, clean=False, notes=["images: 2 left"],
                        counts=_plan("p-1"))
    receipt = _receipt(categories=["images"], verifications=[left], results={"images": {"status": "complete"}})
    assert receipt["results"]["images"] == {"status": "failed", "before": 14, "after": 2,
                                            "errorCode": "VerificationFoundRemaining"}
    assert receipt["verification"]["clean"] is False
    assert receipt["verification"]["notes"] == ["p-1: images: 2 left"]


def test_a_project_without_verification_is_not_clean() -> None:
    receipt = _receipt(categories=["tags"], verifications=[])
    assert receipt["projects"][0]["after"] == {"tags": None} and receipt["verification"]["clean"] is False


def test_account_and_exported_models_say_what_the_owner_must_do() -> None:
    resource = ResourceConfig(alias="default", endpoint="https://x", training_key="k")
    account = delete_account_category(resource)
    models = exported_models_result(account)
    assert account["status"] == models["status"] == "skipped"
    receipt = _receipt(categories=["account", "exported_models"], results={
        "account": account, "exported_models": models})
    assert receipt["results"]["account"]["errorCode"] == "AccountDeleteNotEnabled"
    assert "Azure portal" in receipt["results"]["account"]["reason"]
    assert receipt["results"]["exported_models"]["errorCode"] == "RemovedWithAccount"
    assert "removed with the account" in receipt["results"]["exported_models"]["reason"]
    assert receipt["results"]["account"]["before"] is None


def test_failed_results_keep_the_code_but_not_the_service_message() -> None:
    results = {"tags": {"status": "failed", "error": {"code": "Forbidden", "message": "tag 'Alice' is locked"}}}
    receipt = _receipt(categories=["tags"], results=results)
    assert receipt["results"]["tags"]["status"] == "failed" and receipt["results"]["tags"]["errorCode"] == "Forbidden"
    assert "Alice" not in json.dumps(receipt)


def test_signed_bytes_are_rfc_8785_json_without_the_signature(signer: LocalKeySigner) -> None:
    receipt = sign(_receipt(resource="café"), signer)
    body = {k: v for k, v in receipt.items() if k != "signature"}
    expected = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert signed_bytes(receipt) == expected and "café".encode() in expected  # this receipt has no floats
    token = receipt["signature"]["jws"]
    header, empty, _ = token.split(".")
    assert empty == ""  # payload detached: the receipt itself is the payload
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "ES256", "kid": signer.current_kid()}
    assert receipt["signature"] == {"alg": "ES256", "keyId": signer.current_kid(), "canonicalization": "RFC8785",
                                    "jws": token}


def test_sign_and_verify_roundtrip_survives_reformatting(signer: LocalKeySigner) -> None:
    receipt = sign(_receipt(), signer)
    assert verify(receipt, _keys(signer))
    reparsed = json.loads(json.dumps(receipt, indent=4, ensure_ascii=True))
    assert verify(reparsed, _keys(signer))
    again = sign(receipt, signer)  # re-signing replaces the old signature
    assert verify(again, _keys(signer)) and signed_bytes(again) == signed_bytes(receipt)


def _flip_signature_byte(receipt: dict[str, Any]) -> None:
    header, _, signature = receipt["signature"]["jws"].split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[17] ^= 0x01
    receipt["signature"]["jws"] = f"{header}..{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r["results"]["images"].update(after=3),
        lambda r: r["verification"].update(clean=False),
        lambda r: r.update(requestId="case-2"),
        lambda r: r.update(extra=1),
        _flip_signature_byte,
        lambda r: r.pop("signature"),
        lambda r: r["signature"].update(alg="none"),
        lambda r: r["signature"].update(alg="HMAC-SHA256"),
        lambda r: r["signature"].update(keyId="another-kid"),
        lambda r: r["signature"].update(jws=r["signature"]["jws"].replace("..", "." + "e30" + ".")),
    ],
    ids=["count", "verdict", "request", "added-field", "signature-byte", "no-signature", "alg-none", "alg-hmac",
         "key-id", "attached-payload"],
)
def test_tampering_is_detected(signer: LocalKeySigner, tamper: Callable[[dict[str, Any]], Any]) -> None:
    receipt = sign(_receipt(), signer)
    tamper(receipt)
    valid, reason = check(receipt, keys=_keys(signer), hmac_key=LEGACY_KEY)
    assert not valid, reason


def test_one_changed_byte_in_the_stored_file_fails(signer: LocalKeySigner) -> None:
    stored = (json.dumps(sign(_receipt(), signer), indent=2, sort_keys=True) + "\n").encode()
    assert verify(json.loads(stored), _keys(signer))
    body_at = stored.index(b'"after": 0') + len(b'"after": ')
    signature_at = stored.index(b'"jws": "') + len(b'"jws": "') + stored[stored.index(b'"jws": "'):].index(b"..") + 10
    for position in (body_at, signature_at):
        changed = bytearray(stored)
        changed[position] = ord("1") if changed[position] != ord("1") else ord("2")
        assert not verify(json.loads(bytes(changed)), _keys(signer)), position


def test_a_key_outside_the_key_set_is_refused_by_kid(signer: LocalKeySigner, other_signer: LocalKeySigner) -> None:
    receipt = sign(_receipt(), signer)
    valid, reason = check(receipt, keys=_keys(other_signer))
    assert not valid and signer.current_kid() in reason and "not in the given key set" in reason


def test_rotation_keeps_receipts_signed_before_it_verifiable(signer: LocalKeySigner) -> None:
    before = sign(_receipt(), signer)
    signer.rotate()
    after = sign(_receipt(request_id="case-after"), signer)
    keys = _keys(signer)
    assert before["signature"]["keyId"] != after["signature"]["keyId"]
    assert verify(before, keys) and verify(after, keys)


def test_an_es256_receipt_needs_the_public_keys(signer: LocalKeySigner) -> None:
    with pytest.raises(ReceiptKeyError, match="--jwks"):
        check(sign(_receipt(), signer))


def test_receipts_signed_with_hmac_before_es256_still_verify_with_the_old_key() -> None:
    legacy = json.loads(LEGACY.read_text())
    assert legacy["signature"]["alg"] == "HMAC-SHA256"
    kid = legacy["signature"]["keyId"]
    assert check(legacy, hmac_key=LEGACY_KEY) == (True, f"signature valid (HMAC-SHA256, key {kid})")
    valid, reason = check(legacy, hmac_key="another-legacy-key-0000")
    assert not valid and "not with the given key" in reason and "another-legacy" not in reason
    legacy["results"]["images"]["after"] = 1
    assert not check(legacy, hmac_key=LEGACY_KEY)[0]
    with pytest.raises(ReceiptKeyError, match="RECEIPT_SIGNING_KEY"):
        check(json.loads(LEGACY.read_text()))


def test_write_refuses_an_unsigned_receipt() -> None:
    with pytest.raises(ReceiptKeyError):
        write_receipt(None, _receipt())  # type: ignore[arg-type]  # refused before touching storage


class _JwksServer:
    """A loopback HTTP server answering GET with one JWKS document, as GET /api/keys does."""

    def __init__(self, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/jwk-set+json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/keys"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_command_exit_codes(tmp_path: Path, signer: LocalKeySigner, other_signer: LocalKeySigner,
                            capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(sign(_receipt(), signer), indent=2))
    bad = tmp_path / "bad.json"
    tampered = sign(_receipt(), signer)
    tampered["results"]["images"]["after"] = 1
    bad.write_text(json.dumps(tampered))
    jwks_file, other_jwks = tmp_path / "jwks.json", tmp_path / "other.json"
    jwks_file.write_text(json.dumps(signing.jwks(signer)))
    other_jwks.write_text(json.dumps(signing.jwks(other_signer)))
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    key_file = tmp_path / "key"
    key_file.write_text(LEGACY_KEY + "\n")

    assert main(["verify", str(good), "--jwks", str(jwks_file)], env={}) == 0
    assert f"signature valid (ES256, key {signer.current_kid()})" in capsys.readouterr().out
    server = _JwksServer(signing.jwks(signer))
    try:
        assert main(["verify", str(good), "--jwks", server.url], env={}) == 0
    finally:
        server.close()
    assert main(["verify", str(bad), "--jwks", str(jwks_file)], env={}) == 1
    assert "INVALID" in capsys.readouterr().err
    assert main(["verify", str(good), "--jwks", str(other_jwks)], env={}) == 1
    assert main(["verify", str(not_json), "--jwks", str(jwks_file)], env={}) == 1
    assert main(["verify", str(good)], env={}) == 2  # no key set given
    assert "--jwks" in capsys.readouterr().err
    assert main(["verify", str(good), "--jwks", str(not_json)], env={}) == 2
    assert main(["verify", str(tmp_path / "missing.json"), "--jwks", str(jwks_file)], env={}) == 2
    # receipts from before ES256: the old HMAC key, from a file or RECEIPT_SIGNING_KEY
    assert main(["verify", str(LEGACY), "--key-file", str(key_file)], env={}) == 0
    assert main(["verify", str(LEGACY)], env={"RECEIPT_SIGNING_KEY": LEGACY_KEY}) == 0
    assert main(["verify", str(LEGACY)], env={"RECEIPT_SIGNING_KEY": "another-legacy-key-0000"}) == 1
    assert main(["verify", str(LEGACY)], env={}) == 2


def test_summary_command_writes_the_verdict_and_how_to_check(tmp_path: Path, signer: LocalKeySigner) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(sign(_receipt(), signer)))
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(signing.jwks(signer)))
    page = tmp_path / "receipt.html"
    assert main(["summary", str(good), "--jwks", str(jwks_file), "-o", str(page)], env={}) == 0
    text = page.read_text()
    assert "Signature valid" in text and signer.current_kid() in text and "RFC 8785" in text
    assert "python -m dsr.receipt verify" in text and str(jwks_file) in text
    tampered = json.loads(good.read_text())
    tampered["verification"]["clean"] = False
    good.write_text(json.dumps(tampered))
    assert main(["summary", str(good), "--jwks", str(jwks_file), "-o", str(page)], env={}) == 1
    assert "Signature NOT valid" in page.read_text()


def test_python_dash_m_command(tmp_path: Path, signer: LocalKeySigner) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(sign(_receipt(), signer)))
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(signing.jwks(signer)))
    env = {"PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "dsr.receipt", "verify", str(good), "--jwks", str(jwks_file)]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    good.write_text(good.read_text().replace('"after": 0', '"after": 1', 1))
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "INVALID" in run.stderr


# A real delete on the emulator, the receipt stored in Azurite.


@pytest.fixture(scope="module")
def server(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory("demo", tps=1000)


@pytest.fixture
def container(azurite: Azurite) -> Iterator[ContainerClient]:
    client = ContainerClient.from_connection_string(azurite.connection_string, f"receipts-{uuid.uuid4().hex[:8]}")
    client.create_container()
    yield client
    client.delete_container()


@pytest.mark.slow
def test_a_real_delete_gets_a_signed_receipt_without_personal_data(
    server: Emulator, container: ContainerClient, signer: LocalKeySigner
) -> None:
    server.reset("demo")
    truth = server.state()["projects"]
    target = truth[0]
    categories = [str(c) for c in PROJECT_CATEGORIES]
    with TrainingClient(server.endpoint, server.training_key, retry_backoff_factor=0.01) as client:
        plan = plan_project(client, target["id"], categories)
        for step in steps_for(categories):
            while not run_step(client, target["id"], step)["done"]:
                pass
        verification = verify_project(client, target["id"], categories)
    account = delete_account_category(ResourceConfig(alias="default", endpoint=server.endpoint))
    receipt = build_receipt(
        request_id="case-2026-0042", resource="default", categories=categories,
        started_at="2026-11-22T10:00:00.000Z", completed_at="2026-11-22T10:01:00.000Z",
        plans=[plan], verifications=[verification],
        results={"exported_models": exported_models_result(account)},
    )
    issued = issue_receipt(container, receipt, signer)

    stored = read_receipt(container, "case-2026-0042")
    assert stored == issued and verify(stored, _keys(signer))
    assert [b.name for b in container.list_blobs()] == ["receipts/case-2026-0042.html", "receipts/case-2026-0042.json"]
    assert stored["verification"]["clean"] is True
    assert stored["results"]["images"]["before"] == target["workspaceImageCount"] + sum(
        len(it["imageIds"]) for it in target["iterations"])
    assert stored["results"]["images"]["after"] == 0
    assert stored["results"]["predictions"] == {"status": "complete", "before": len(target["predictions"]),
                                                "after": 0, "errorCode": None}
    assert stored["results"]["exported_models"]["status"] == "skipped"

    text = container.get_blob_client("receipts/case-2026-0042.json").download_blob().readall().decode()
    forbidden = [server.training_key]
    for project in truth:
        forbidden += [project["name"]]
        forbidden += [i["id"] for i in project["images"]] + [t["id"] for t in project["tags"]]
        forbidden += [t["name"] for t in project["tags"]] + [p["id"] for p in project["predictions"]]
        forbidden += [it["id"] for it in project["iterations"]] + [it["name"] for it in project["iterations"]]
    leaked = [value for value in forbidden if value and re.search(rf"\b{re.escape(value)}\b", text, re.IGNORECASE)]
    assert leaked == []
    assert target["id"] in text  # project ids are not personal data, and say what was deleted


    page = container.get_blob_client("receipts/case-2026-0042.html").download_blob().readall().decode()
    assert "Signature valid" in page and signer.current_kid() in page and "GET /api/keys" in page
    leaked = [value for value in forbidden if value and re.search(rf"\b{re.escape(value)}\b", page, re.IGNORECASE)]
    assert leaked == []


def test_a_receipt_is_written_once(container: ContainerClient, signer: LocalKeySigner) -> None:
    """A retried issue returns the stored receipt; a different receipt under the same id is refused.

    Azurite enforces the create-only write (If-None-Match: *) that this relies on; the immutability policy
    that also stops a delete or overwrite by anyone is enforced only on Azure (infra/modules/receipts.bicep)."""
    first = issue_receipt(container, _receipt(), signer)
    blob = container.get_blob_client("receipts/case-1.json")
    etag = blob.get_blob_properties().etag
    again = issue_receipt(container, _receipt(), signer)  # an activity retry after the write went through
    assert again == first and blob.get_blob_properties().etag == etag
    with pytest.raises(ReceiptExistsError, match="write-once"):
        issue_receipt(container, _receipt(completed_at="2026-11-22T11:00:00.000Z"), signer)
    assert blob.get_blob_properties().etag == etag and read_receipt(container, "case-1") == first


def test_issue_without_a_usable_key_writes_nothing(container: ContainerClient, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(signing.SigningError):
        issue_receipt(container, _receipt(), LocalKeySigner(blocker / "keys"))
    assert list(container.list_blobs()) == []


def test_a_failed_plan_counts_as_unknown_not_as_zero() -> None:
    unknown = dict.fromkeys(_plan("p-1"))
    unknown["projectId"] = "p-1"
    receipt = _receipt(categories=["images"], plans=[unknown], verifications=[])
    assert receipt["results"]["images"]["before"] is None and receipt["verification"]["clean"] is False
