"""Receipts: what is signed, sign/verify, tampering, wrong or missing keys, the command, and a real delete."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from customvision import TrainingClient
from dsr.categories import PROJECT_CATEGORIES
from dsr.delete.account import delete_account_category, exported_models_result
from dsr.delete.order import steps_for
from dsr.delete.plan import ProjectPlan, plan_project
from dsr.delete.steps import run_step
from dsr.delete.verify import Verification, verify_project
from dsr.receipt import (
    ALG,
    ReceiptKeyError,
    build_receipt,
    canonical_bytes,
    check,
    issue_receipt,
    key_id,
    main,
    read_receipt,
    sign,
    verify,
    write_receipt,
)
from dsr.settings import ResourceConfig
from localstack.azurite import Azurite
from localstack.emulator import Emulator

KEY = "test-receipt-signing-key-0123456789"
OTHER_KEY = "another-receipt-signing-key-98765"
ROOT = Path(__file__).resolve().parents[2]


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


def test_signed_bytes_are_sorted_compact_ascii_json_without_the_signature() -> None:
    receipt = sign(_receipt(resource="café"), KEY)
    body = {k: v for k, v in receipt.items() if k != "signature"}
    expected = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    assert canonical_bytes(receipt) == expected and b"caf\\u00e9" in expected
    mac = hmac.new(KEY.encode(), expected, hashlib.sha256).hexdigest()
    assert receipt["signature"] == {"alg": ALG, "keyId": key_id(KEY), "value": mac}


def test_sign_and_verify_roundtrip_survives_reformatting() -> None:
    receipt = sign(_receipt(), KEY)
    assert verify(receipt, KEY)
    reparsed = json.loads(json.dumps(receipt, indent=4))
    assert verify(reparsed, KEY)
    assert sign(receipt, KEY) == receipt  # re-signing replaces the old signature, same result


def _flip_last(hex_value: str) -> str:
    return hex_value[:-1] + ("1" if hex_value.endswith("0") else "0")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r["results"]["images"].update(after=3),
        lambda r: r["verification"].update(clean=False),
        lambda r: r.update(requestId="case-2"),
        lambda r: r.update(extra=1),
        lambda r: r["signature"].update(value=_flip_last(r["signature"]["value"])),
        lambda r: r.pop("signature"),
        lambda r: r["signature"].update(alg="none"),
    ],
)
def test_tampering_is_detected(tamper: Callable[[dict[str, Any]], Any]) -> None:
    receipt = sign(_receipt(), KEY)
    tamper(receipt)
    assert not verify(receipt, KEY)


def test_a_wrong_key_is_refused_and_named_by_fingerprint_only() -> None:
    receipt = sign(_receipt(), KEY)
    valid, reason = check(receipt, OTHER_KEY)
    assert not valid and key_id(OTHER_KEY) in reason and key_id(KEY) in reason
    assert KEY not in json.dumps(receipt) and OTHER_KEY not in reason
    assert key_id(KEY) != key_id(OTHER_KEY) and len(key_id(KEY)) == len("hmac-sha256:") + 16


@pytest.mark.parametrize("key", [None, "", "   ", "short"])
def test_no_usable_key_is_an_error_never_an_unsigned_receipt(key: str | None) -> None:
    with pytest.raises(ReceiptKeyError):
        sign(_receipt(), key)
    with pytest.raises(ReceiptKeyError):
        verify(sign(_receipt(), KEY), key)


def test_write_refuses_an_unsigned_receipt() -> None:
    with pytest.raises(ReceiptKeyError):
        write_receipt(None, _receipt())  # type: ignore[arg-type]  # refused before touching storage


def test_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(sign(_receipt(), KEY), indent=2))
    bad = tmp_path / "bad.json"
    tampered = sign(_receipt(), KEY)
    tampered["results"]["images"]["after"] = 0 if tampered["results"]["images"]["after"] else 1
    bad.write_text(json.dumps(tampered))
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    not_json = tmp_path / "x.json"
    not_json.write_text("{")

    assert main(["verify", str(good)], env={"RECEIPT_SIGNING_KEY": KEY}) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["verify", str(good), "--key-file", str(key_file)], env={}) == 0
    assert main(["verify", str(bad)], env={"RECEIPT_SIGNING_KEY": KEY}) == 1
    assert "INVALID" in capsys.readouterr().err
    assert main(["verify", str(good)], env={"RECEIPT_SIGNING_KEY": OTHER_KEY}) == 1
    assert main(["verify", str(not_json)], env={"RECEIPT_SIGNING_KEY": KEY}) == 1
    assert main(["verify", str(good)], env={}) == 2
    assert "RECEIPT_SIGNING_KEY" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.json")], env={"RECEIPT_SIGNING_KEY": KEY}) == 2


def test_python_dash_m_command(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(sign(_receipt(), KEY)))
    env = {"RECEIPT_SIGNING_KEY": KEY, "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "dsr.receipt", "verify", str(good)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "dsr.receipt", "verify", str(good)], cwd=ROOT,
                         env={**env, "RECEIPT_SIGNING_KEY": OTHER_KEY}, capture_output=True, text=True, timeout=60)
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
    server: Emulator, container: ContainerClient
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
    issued = issue_receipt(container, receipt, KEY)

    stored = read_receipt(container, "case-2026-0042")
    assert stored == issued and verify(stored, KEY)
    assert [b.name for b in container.list_blobs()] == ["receipts/case-2026-0042.json"]
    assert stored["verification"]["clean"] is True
    assert stored["results"]["images"]["before"] == target["workspaceImageCount"] + sum(
        len(it["imageIds"]) for it in target["iterations"])
    assert stored["results"]["images"]["after"] == 0
    assert stored["results"]["predictions"] == {"status": "complete", "before": len(target["predictions"]),
                                                "after": 0, "errorCode": None}
    assert stored["results"]["exported_models"]["status"] == "skipped"

    text = container.get_blob_client("receipts/case-2026-0042.json").download_blob().readall().decode()
    forbidden = [server.training_key, KEY]
    for project in truth:
        forbidden += [project["name"]]
        forbidden += [i["id"] for i in project["images"]] + [t["id"] for t in project["tags"]]
        forbidden += [t["name"] for t in project["tags"]] + [p["id"] for p in project["predictions"]]
        forbidden += [it["id"] for it in project["iterations"]] + [it["name"] for it in project["iterations"]]
    leaked = [value for value in forbidden if value and re.search(rf"\b{re.escape(value)}\b", text, re.IGNORECASE)]
    assert leaked == []
    assert target["id"] in text  # project ids are not personal data, and say what was deleted


def test_issue_without_a_key_writes_nothing(container: ContainerClient) -> None:
    with pytest.raises(ReceiptKeyError):
        issue_receipt(container, _receipt(), None)
    assert list(container.list_blobs()) == []


def test_a_failed_plan_counts_as_unknown_not_as_zero() -> None:
    unknown = dict.fromkeys(_plan("p-1"))
    unknown["projectId"] = "p-1"
    receipt = _receipt(categories=["images"], plans=[unknown], verifications=[])
    assert receipt["results"]["images"]["before"] is None and receipt["verification"]["clean"] is False
