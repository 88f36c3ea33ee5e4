"""The status answer: due date, progress, result by allow-list, manifest link, nothing secret."""

from __future__ import annotations

import json
from typing import Any

from dsr.redact import scrub_answer
from dsr.status import request_status

REQUEST = {
    "requestId": "case-1",
    "operation": "export",
    "resource": "default",
    "projects": None,
    "categories": ["tags", "images"],
    "dryRun": False,
    "confirm": None,
}
INPUT = {"request": REQUEST, "receivedAt": "2026-11-22T15:00:00.000+00:00"}
RUNNING = {
    "instanceId": "case-1",
    "runtimeStatus": "Running",
    "createdTime": "2026-11-22T15:00:01+00:00",
    "lastUpdatedTime": "2026-11-22T15:05:00+00:00",
    "customStatus": {
        "phase": "exporting",
        "progress": {"tags": {"done": 1, "total": 3}, "images": {"done": 0, "total": 3}, "bogus": {"done": 1}},
    },
    "output": None,
    "input": INPUT,
}
OUTPUT = {
    "requestId": "case-1",
    "operation": "export",
    "resource": "default",
    "status": "completed_with_errors",
    "categories": {
        "tags": {"status": "complete", "count": 4, "error": None, "files": 2},
        "images": {
            "status": "failed",
            "count": 1,
            "error": {"code": "Timeout", "message": "GET https://x/img?sv=1&sig=SECRETSIG failed"},
        },
    },
    "missingProjects": [],
    "manifestPath": "case-1/manifest.json",
    "manifest": {"status": "complete", "files": 9},
    "receiptPath": None,
    "receipt": None,
}


def signer(calls: list[str]) -> Any:
    def sign(path: str) -> str:
        calls.append(path)
        return f"https://acct/c/{path}?sp=r&sig=abc"

    return sign


def test_running_status_has_progress_and_due_date_and_no_result() -> None:
    calls: list[str] = []
    answer = request_status(RUNNING, sign_manifest=signer(calls))
    assert answer == {
        "requestId": "case-1",
        "operation": "export",
        "resource": "default",
        "dryRun": False,
        "status": "Running",
        "phase": "exporting",
        "receivedAt": "2026-11-22T15:00:00Z",
        "dueDate": "2026-12-22T15:00:00Z",
        "lastUpdatedAt": "2026-11-22T15:05:00Z",
        "progress": {"tags": {"done": 1, "total": 3}, "images": {"done": 0, "total": 3}},
        "result": None,
    }
    assert calls == []


def test_completed_export_has_result_and_manifest_link() -> None:
    calls: list[str] = []
    answer = request_status({**RUNNING, "runtimeStatus": "Completed", "output": OUTPUT}, sign_manifest=signer(calls))
    assert calls == ["case-1/manifest.json"]
    result = answer["result"]
    assert result is not None
    assert result["manifestUrl"] == "https://acct/c/case-1/manifest.json?sp=r&sig=abc"
    assert result["status"] == "completed_with_errors"
    assert result["categories"]["tags"] == {"status": "complete", "count": 4, "error": None}
    assert result["categories"]["images"]["error"]["code"] == "Timeout"
    assert result["receipt"] is None


def test_only_the_manifest_link_carries_a_signature() -> None:
    answer = request_status({**RUNNING, "runtimeStatus": "Completed", "output": OUTPUT}, sign_manifest=signer([]))
    text = json.dumps({**answer, "result": {**answer["result"], "manifestUrl": None}})
    assert "SECRETSIG" not in text
    assert "sig=REDACTED" in text


def test_manifest_link_only_for_the_requests_own_manifest() -> None:
    calls: list[str] = []
    output = {**OUTPUT, "manifestPath": "../other/manifest.json"}
    answer = request_status({**RUNNING, "runtimeStatus": "Completed", "output": output}, sign_manifest=signer(calls))
    assert calls == [] and answer["result"]["manifestUrl"] is None
    answer = request_status(
        {**RUNNING, "runtimeStatus": "Completed", "output": {**OUTPUT, "manifestPath": None}},
        sign_manifest=signer(calls),
    )
    assert calls == [] and answer["result"]["manifestUrl"] is None


def test_receipt_is_returned_without_secret_keys() -> None:
    receipt = {
        "requestId": "case-1",
        "counts": {"images": {"before": 3, "after": 0}},
        "signature": "hmac-sha256:abcd",
        "keyId": "k1",
        "trainingKey": "oops",
        "connection_string": "AccountKey=zzz",
        "note": "AccountKey=zzz;",
    }
    output = {**OUTPUT, "operation": "delete", "manifestPath": None, "receipt": receipt}
    answer = request_status({**RUNNING, "runtimeStatus": "Completed", "output": output}, sign_manifest=signer([]))
    assert answer["result"]["receipt"] == {
        "requestId": "case-1",
        "counts": {"images": {"before": 3, "after": 0}},
        "signature": "hmac-sha256:abcd",
        "keyId": "k1",
        "note": "AccountKey=REDACTED;",
    }


def test_json_text_inputs_and_outputs_are_read() -> None:
    status = {
        **RUNNING,
        "runtimeStatus": "Completed",
        "input": json.dumps(INPUT),
        "output": json.dumps(OUTPUT),
        "customStatus": json.dumps(RUNNING["customStatus"]),
    }
    answer = request_status(status, sign_manifest=signer([]))
    assert answer["operation"] == "export" and answer["result"]["manifestUrl"]
    assert answer["progress"]["tags"] == {"done": 1, "total": 3}


def test_failed_and_terminated_have_no_result_and_no_secret_text() -> None:
    for runtime_status in ("Failed", "Terminated"):
        status = {**RUNNING, "runtimeStatus": runtime_status, "output": "Exception: key=abc at ..."}
        answer = request_status(status, sign_manifest=signer([]))
        assert answer["status"] == runtime_status and answer["result"] is None
        assert "abc" not in json.dumps(answer)
    assert "error" not in request_status({**RUNNING, "runtimeStatus": "Terminated"}, sign_manifest=signer([]))


def test_a_failed_request_shows_a_short_scrubbed_reason_instead_of_azures_serialized_exception() -> None:
    """On Azure a failed orchestration's output is the failure as the host records it: the activity's
    "Result: Failure / Exception / Stack" message and the .NET exception as JSON (kilobytes, stack traces)."""
    details = json.dumps({"$type": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, X",
                          "StackTraceString": "   at Microsoft.Azure.WebJobs.Script..." * 40})
    output = ("Orchestrator function 'data_request' failed: Activity function 'plan_request' failed: Result: "
              "Failure\nException: PermissionError: no access to https://a.blob.core.windows.net/c?sv=1&sig=c2VjcmV0"
              "\nStack:   File \"/home/site/wwwroot/dsr/plan.py\", line 3, in plan\n    raise X\n \n " + details)
    answer = request_status({**RUNNING, "runtimeStatus": "Failed", "output": output}, sign_manifest=signer([]))
    assert answer["error"]["code"] == "RequestFailed"
    message = answer["error"]["message"]
    assert message.startswith("plan_request: PermissionError: no access to https://a.blob.core.windows.net/c?sv=1&sig=")
    assert "c2VjcmV0" not in message and "Stack" not in message and "$type" not in message and len(message) <= 300


def test_missing_input_falls_back_to_instance_and_created_time() -> None:
    answer = request_status(
        {"instanceId": "x1", "runtimeStatus": "Pending", "createdTime": "2026-01-31T00:00:00Z"},
        sign_manifest=signer([]),
    )
    assert answer["requestId"] == "x1" and answer["operation"] is None
    assert answer["receivedAt"] == "2026-01-31T00:00:00Z" and answer["dueDate"] == "2026-03-02T00:00:00Z"
    assert answer["progress"] == {}


def test_scrub_drops_credential_keys_everywhere() -> None:
    value = {"a": [{"accountKey": 1, "sasUrl": "https://x/?sig=1", "ok": True}], "password": "p", "token": "t"}
    assert scrub_answer(value) == {"a": [{"sasUrl": "https://x/?sig=REDACTED", "ok": True}]}
