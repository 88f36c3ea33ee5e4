"""What the request API does, in plain code: start a request once per requestId, look it up, cancel it.

The triggers hand in an `Orchestrations` port (the Durable client, adapted) and turn the `Reply` into
an HTTP response; everything that decides something lives here and is tested without a host.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypedDict

from dsr.problems import CONTENT_TYPE as PROBLEM_CONTENT_TYPE
from dsr.problems import FieldError, problem
from dsr.request import DataRequest, RequestValidationError, fingerprint, is_request_id, parse_request
from dsr.runtime_status import TERMINAL_STATUSES
from dsr.sas import manifest_sas_url
from dsr.settings import Settings
from dsr.status import json_value, request_status
from dsr.subject.store import BlobSelectors, SelectorStore, SubjectConflict, SubjectRef
from dsr.times import iso_utc

log = logging.getLogger(__name__)

CANCEL_REASON = "cancelled through DELETE /api/requests/{id}"
StatusUri = Callable[[str], str]  # request id -> absolute URL of GET /api/requests/{id}


class Orchestrations(Protocol):
    """The Durable client as plain calls; statuses are plain dicts (`instanceId`, `runtimeStatus`, `createdTime`,
    `lastUpdatedTime`, `customStatus`, `output`, `input`: triggers/orchestrations.py), None if unknown."""

    async def status(self, instance_id: str) -> dict[str, Any] | None: ...

    async def start(self, instance_id: str, orchestration_input: OrchestrationInput) -> None: ...

    async def terminate(self, instance_id: str, reason: str) -> None: ...


class OrchestrationInput(TypedDict):
    """The data_request orchestrator's input; a subject request's `request.subject` is its SubjectRef."""

    request: dict[str, Any]
    receivedAt: str


class Cancellations(Protocol):
    """Where a delete's cancellation is recorded for its steps to see (dsr.cancellation's marker)."""

    def request(self, request_id: str) -> bool: ...  # False when it was recorded already


class Decision(StrEnum):
    """What to do with a valid request, given what already runs under its requestId."""

    START = "start"  # nothing has this id yet
    EXISTING = "existing"  # the same request already started: answer with it, never run twice
    CONFLICT = "conflict"  # the id is taken by a different request: refuse (409)


@dataclass(frozen=True)
class Reply:
    """An HTTP answer in plain values."""

    status: int
    body: Mapping[str, Any] | None = None
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


def orchestration_input(request: DataRequest, *, now: datetime, subject: SubjectRef | None = None
                        ) -> OrchestrationInput:
    """The orchestration input: the normalized request and when it was received (ISO-8601 UTC). A subject
    request carries `subject`, the reference to its stored selector, instead of the selector (personal data)."""
    stamp = iso_utc(now)
    data: dict[str, Any] = dict(request.to_dict())
    if request.subject is not None:
        if subject is None:
            raise ValueError("a subject request's input needs the reference to its stored selector")
        data["subject"] = dict(subject)
    return OrchestrationInput(request=data, receivedAt=stamp)


def decide(request: DataRequest, existing: Mapping[str, Any] | None, selectors: SelectorStore | None = None
           ) -> Decision:
    """START when the id is free; EXISTING when the stored input is the same request; else CONFLICT. A subject
    request is the same when everything else is and the stored selector (read through `selectors`) is too."""
    if existing is None:
        return Decision.START
    stored = json_value(existing.get("input"))
    stored = stored.get("request") if isinstance(stored, Mapping) else None
    try:
        same = isinstance(stored, Mapping) and _same(request, stored, selectors)
    except (KeyError, TypeError, ValueError):  # an instance this API did not start, or an older input shape
        same = False
    return Decision.EXISTING if same else Decision.CONFLICT


def _same(request: DataRequest, stored: Mapping[str, Any], selectors: SelectorStore | None) -> bool:
    ref = stored.get("subject")
    if request.subject is None or not isinstance(ref, Mapping):
        return ref is None and DataRequest.from_dict(stored).fingerprint() == request.fingerprint()
    rest = {k: v for k, v in request.to_dict().items() if k != "subject"}
    stored_rest = {k: v for k, v in stored.items() if k != "subject"}
    return (fingerprint(rest) == fingerprint(stored_rest) and selectors is not None
            and selectors.matches(request.request_id, request.subject, ref))


async def start_once(request: DataRequest, *, orchestrations: Orchestrations, now: datetime,
                     selectors: SelectorStore | None = None) -> Decision:
    """Start the orchestration unless its requestId is taken; what happened, for any trigger to answer with.

    A subject request's selector is stored first (`selectors`, default: the export container), so the run never
    holds it in its history; a stored selector that differs makes the request id a conflict."""
    if request.subject is not None and selectors is None:
        selectors = BlobSelectors()
    existing = await orchestrations.status(request.request_id)
    decision = await asyncio.to_thread(decide, request, existing, selectors)
    if decision is not Decision.START:
        return decision
    ref = None
    if request.subject is not None and selectors is not None:
        try:
            ref = await asyncio.to_thread(selectors.save, request.request_id, request.subject)
        except SubjectConflict:
            return Decision.CONFLICT
    try:
        await orchestrations.start(request.request_id, orchestration_input(request, now=now, subject=ref))
    except Exception:
        # Two identical requests racing: the other one started it. Anything else is a real failure.
        existing = await orchestrations.status(request.request_id)
        if existing is None:
            raise
        return await asyncio.to_thread(decide, request, existing, selectors)
    return Decision.START


async def submit(
    body: bytes,
    *,
    orchestrations: Orchestrations,
    settings: Settings,
    now: datetime,
    new_id: Callable[[], str],
    status_uri: StatusUri,
    content_type: str | None = "application/json",
    selectors: SelectorStore | None = None,
) -> Reply:
    """POST /api/requests: validate strictly, then start the orchestration unless this requestId already runs.

    202 answers `{"id", "statusUri"}` with `Location`, both the request's own `GET /api/requests/{id}`: never
    the Durable check-status URLs, which carry the durabletask system key (terminate or purge any instance).
    """
    if not is_json_media_type(content_type):
        # A form or text body is what a browser can send cross-site without a preflight: never accept it.
        reason = "must be application/json"
        return problem_reply(415, "Unsupported media type", f"Content-Type {content_type or '(none)'!r} {reason}",
                             errors=[FieldError(field="Content-Type", reason=reason)])
    try:
        request = parse_request(body, settings=settings, new_id=new_id)
    except RequestValidationError as exc:
        title = "Request body too large" if exc.status == 413 else "Invalid request"
        log.info("request refused (%s): %s", exc.status, ", ".join(p["field"] or "(body)" for p in exc.problems))
        return problem_reply(exc.status, title, str(exc), errors=exc.problems)
    if request.subject is not None and selectors is None:
        selectors = BlobSelectors(settings)
    decision = await start_once(request, orchestrations=orchestrations, now=now, selectors=selectors)
    log.info("request %s (%s): %s", request.request_id, request.operation, decision)
    if decision is Decision.CONFLICT:
        reason = "is already used by a different request; use a new requestId"
        return problem_reply(
            409,
            "Request id already used",
            f"requestId {request.request_id!r} already identifies a request with a different body",
            errors=[FieldError(field="/requestId", reason=reason)],
        )
    return accepted(request.request_id, status_uri)


def accepted(request_id: str, status_uri: StatusUri) -> Reply:
    """202 with the request's id and its status link (body and `Location`)."""
    uri = status_uri(request_id)
    return Reply(202, body={"id": request_id, "statusUri": uri}, headers={"Location": uri})


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or a `+json` type, parameters (charset) allowed."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def lookup(request_id: str, *, orchestrations: Orchestrations, settings: Settings, now: datetime,
                 read_receipt: Callable[[str], Mapping[str, Any] | None] | None = None) -> Reply:
    """GET /api/requests/{id}: status, progress, due date and, when done, the result with a manifest link
    (exports) or the signed receipt, read from its blob (deletes)."""
    existing = await orchestrations.status(request_id) if is_request_id(request_id) else None
    if existing is None:
        return _not_found(request_id)

    def sign(path: str) -> str | None:
        try:
            return manifest_sas_url(settings, path, now=now, hours=settings.sas_validity_hours)
        except Exception as exc:  # the status is still worth answering without the link
            log.warning("request %s: cannot sign the manifest link (%s)", request_id, type(exc).__name__)
            return None

    def receipt(_path: str) -> Mapping[str, Any] | None:
        if read_receipt is None:
            return None
        try:
            return read_receipt(request_id)
        except Exception as exc:  # the status is still worth answering without the receipt
            log.warning("request %s: cannot read its receipt (%s)", request_id, type(exc).__name__)
            return None

    body = await asyncio.to_thread(request_status, existing, sign_manifest=sign, read_receipt=receipt)
    return Reply(200, body=body)


async def cancel(request_id: str, *, orchestrations: Orchestrations, cancellations: Cancellations) -> Reply:
    """DELETE /api/requests/{id}: cancel a running request; 409 when it already finished.

    A delete is cancelled through its marker, not terminated: on Azure a terminate leaves the scheduled
    activities and every project's sub-orchestration running, deleting on. The steps see the marker before
    their next destructive call, and the request ends with a receipt of what was deleted (`Cancelling`).
    A second cancel of a delete still running, and a cancel of anything else, terminates (`Terminating`).
    """
    existing = await orchestrations.status(request_id) if is_request_id(request_id) else None
    if existing is None:
        return _not_found(request_id)
    runtime_status = str(existing.get("runtimeStatus"))
    if runtime_status in TERMINAL_STATUSES:
        return problem_reply(409, "Request already finished", f"request {request_id!r} is {runtime_status}")
    stored = json_value(existing.get("input"))
    request = stored.get("request") if isinstance(stored, Mapping) else None
    deleting = isinstance(request, Mapping) and request.get("operation") == "delete" and not request.get("dryRun")
    if deleting and await asyncio.to_thread(cancellations.request, request_id):
        log.info("request %s: cancellation recorded; its deletes stop", request_id)
        return Reply(202, body={"requestId": request_id, "status": "Cancelling"})
    await orchestrations.terminate(request_id, CANCEL_REASON)
    log.info("request %s: terminated", request_id)
    return Reply(202, body={"requestId": request_id, "status": "Terminating"})


def problem_reply(status: int, title: str, detail: str, *, errors: list[FieldError] | None = None) -> Reply:
    """A problem+json reply."""
    return Reply(status, body=problem(status, title, detail, errors=errors), content_type=PROBLEM_CONTENT_TYPE)


def _not_found(request_id: str) -> Reply:
    shown = request_id if is_request_id(request_id) else "(not a valid request id)"
    return problem_reply(404, "Request not found", f"no request with id {shown}")
