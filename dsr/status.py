"""The `GET /api/requests/{id}` answer, built from a Durable status dict by allow-list, never pass-through."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict

from dsr.categories import Category
from dsr.failures import failure_reason
from dsr.layout import manifest_path, plan_path, receipt_path
from dsr.redact import redact, scrub_answer
from dsr.runtime_status import RuntimeStatus
from dsr.times import as_utc, iso_utc

DUE_AFTER = timedelta(days=30)  # GDPR Art. 12(3): answer within one month of receipt
MAX_TEXT = 500


class RequestStatus(TypedDict):
    """What the status API returns."""

    requestId: str
    operation: str | None
    resource: str | None
    dryRun: bool
    status: str
    phase: NotRequired[str]
    receivedAt: str | None
    dueDate: str | None
    lastUpdatedAt: str | None
    progress: dict[str, dict[str, int | None]]
    result: dict[str, Any] | None
    error: NotRequired[dict[str, str]]  # why a request failed without a result: bounded, scrubbed
    resources: NotRequired[list[str]]  # a subject request: the resources it searches
    subject: NotRequired[dict[str, Any]]  # a subject request: its selector's kind and key names (never values)


ReadReceipt = Callable[[str], Mapping[str, Any] | None]


def request_status(status: Mapping[str, Any], *, sign_manifest: Callable[[str], str | None],
                   read_receipt: ReadReceipt | None = None) -> RequestStatus:
    """The status answer; `sign_manifest(path)` makes the read-only link to a completed export's manifest,
    `read_receipt(path)` reads a delete's signed receipt from its blob (the output only points to it)."""
    orchestration_input = json_value(status.get("input"))
    orchestration_input = orchestration_input if isinstance(orchestration_input, dict) else {}
    request = orchestration_input.get("request") if isinstance(orchestration_input.get("request"), dict) else {}
    request_id = _text(request.get("requestId")) or str(status.get("instanceId") or "")
    received = _time(orchestration_input.get("receivedAt")) or _time(status.get("createdTime"))
    runtime_status = str(status.get("runtimeStatus") or "Unknown")
    custom = json_value(status.get("customStatus"))
    answer = RequestStatus(
        requestId=request_id,
        operation=_text(request.get("operation")),
        resource=_text(request.get("resource")),
        dryRun=request.get("dryRun") is True,
        status=runtime_status,
        receivedAt=_iso(received),
        dueDate=_iso(received + DUE_AFTER) if received else None,
        lastUpdatedAt=_iso(_time(status.get("lastUpdatedTime"))),
        progress=_progress(custom),
        result=None,
    )
    if isinstance(custom, dict) and _text(custom.get("phase")):
        answer["phase"] = str(_text(custom.get("phase")))
    if isinstance(request.get("subject"), dict):
        answer.update(_subject_fields(request))
    if runtime_status == RuntimeStatus.COMPLETED:
        answer["result"] = _result(json_value(status.get("output")), request_id, sign_manifest, read_receipt)
    elif runtime_status == RuntimeStatus.FAILED and isinstance(custom, dict) and isinstance(custom.get("result"), dict):
        # A delete whose verification found data left fails, but its receipt and counts are still the answer.
        answer["result"] = _result(custom["result"], request_id, sign_manifest, read_receipt)
    elif runtime_status == RuntimeStatus.FAILED:  # on Azure the output is the exception serialized: kilobytes, stacks
        output = status.get("output")
        answer["error"] = {"code": "RequestFailed",
                           "message": failure_reason(output if isinstance(output, str) else json.dumps(output))}
    return answer


def _subject_fields(request: Mapping[str, Any]) -> dict[str, Any]:
    """A subject request's resources and selector summary (kind, key names, counts: no value, no id)."""
    summary = request["subject"].get("summary")
    summary = summary if isinstance(summary, dict) else {}
    resources = request.get("resources")
    return {
        "resources": [str(r) for r in resources if isinstance(r, str)] if isinstance(resources, list) else [],
        "subject": {"kind": _text(summary.get("kind")),
                    "keys": [str(k) for k in summary.get("keys") or [] if isinstance(k, str)],
                    "imageIds": _count(summary.get("imageIds")) or 0,
                    "predictions": summary.get("predictions") is True},
    }


def _subject_result(output: Mapping[str, Any]) -> dict[str, Any]:
    """What a subject request's output adds: how far it searched, the models trained on the subject's images."""
    searched = output.get("searched")
    impact = output.get("modelImpact")
    return {
        "searched": {str(k): _count(v) for k, v in searched.items()} if isinstance(searched, dict) else None,
        "modelImpact": [scrub_answer(m) for m in impact if isinstance(m, dict)] if isinstance(impact, list) else [],
        "modelImpactTotal": _count(output.get("modelImpactTotal")) or 0,
    }


def _progress(custom: Any) -> dict[str, dict[str, int | None]]:
    progress = custom.get("progress") if isinstance(custom, dict) else None
    if not isinstance(progress, dict):
        return {}
    known = {str(c) for c in Category}
    return {
        category: {"done": _count(counts.get("done")) or 0, "total": _count(counts.get("total"))}
        for category, counts in progress.items()
        if category in known and isinstance(counts, dict)
    }


def _result(output: Any, request_id: str, sign_manifest: Callable[[str], str | None],
            read_receipt: ReadReceipt | None) -> dict[str, Any]:
    output = output if isinstance(output, dict) else {}
    categories = output.get("categories") if isinstance(output.get("categories"), dict) else {}
    manifest = manifest_path(request_id)  # the one blob a link is ever signed for
    own_receipt = receipt_path(request_id)  # the only receipt a request's status ever shows
    receipt = output.get("receipt")  # outputs before the receipt moved out of history held it
    if output.get("receiptPath") == own_receipt and read_receipt is not None:
        receipt = read_receipt(own_receipt)
    missing = output.get("missingProjects")
    extra = _subject_result(output) if "searched" in output else {}
    return {
        **extra,
        "status": _text(output.get("status")),
        "categories": {
            str(category): _category(outcome)
            for category, outcome in categories.items()
            if category in {str(c) for c in Category} and isinstance(outcome, dict)
        },
        "missingProjects": [str(p) for p in missing if isinstance(p, str)] if isinstance(missing, list) else [],
        "manifestUrl": sign_manifest(manifest) if output.get("manifestPath") == manifest else None,
        "receipt": scrub_answer(receipt) if isinstance(receipt, Mapping) else None,
        "receiptPath": own_receipt if output.get("receiptPath") == own_receipt else None,
        "detailsPath": plan_path(request_id) if output.get("detailsPath") == plan_path(request_id) else None,
    }


def _category(outcome: Mapping[str, Any]) -> dict[str, Any]:
    error = outcome.get("error")
    answer = {
        "status": _text(outcome.get("status")),
        "count": _count(outcome.get("count")) or 0,
        "error": {"code": _text(error.get("code")), "message": _text(error.get("message"))}
        if isinstance(error, dict)
        else None,
    }
    for counted in ("before", "after"):  # a delete's counts before deleting and after verification
        if counted in outcome:
            answer[counted] = _count(outcome.get(counted))
    return answer


def json_value(value: Any) -> Any:
    """Durable hands inputs and outputs back as JSON text in some hosts, as parsed values in others."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _text(value: Any) -> str | None:
    return redact(value)[:MAX_TEXT] if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z, to the second."""
    return iso_utc(moment, timespec="seconds") if moment else None
