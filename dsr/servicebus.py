"""Service Bus requests (DESIGN.md §3) in plain code: one message in, at most one run started, the message settled.

The body is the HTTP API's JSON; the request id is the body's `requestId`, else the message id, so a
redelivered or duplicated message finds its run and never starts a second one. An invalid message is refused
through the Settlement port with the validation error (the trigger's host settlement raises it, so the broker
dead-letters the message after the queue's MaxDeliveryCount); a failure to start is abandoned and re-raised,
so the broker redelivers it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from dsr.intake import Decision, Orchestrations, start_once
from dsr.problems import FieldError
from dsr.request import RequestValidationError, parse_request
from dsr.settings import Settings
from dsr.subject.store import BlobSelectors, SelectorStore

log = logging.getLogger(__name__)

INVALID_REASON = "InvalidRequest"  # DeadLetterReason of a message that fails validation
CONFLICT_REASON = "RequestIdConflict"  # DeadLetterReason when its request id names a different request
MAX_DESCRIPTION = 1024  # DeadLetterErrorDescription is a message property; keep it well under the header limit


class Settlement(Protocol):
    """What the broker is told about the message being handled (the trigger adapts the SDK to this)."""

    def complete(self) -> None: ...

    def abandon(self) -> None: ...

    def dead_letter(self, reason: str, description: str) -> None: ...


class InvalidMessageError(ValueError):
    """A message that must not be retried; raised where no settlement channel exists to dead-letter it."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(f"{reason}: {description}")
        self.reason = reason
        self.description = description


class Outcome(StrEnum):
    """What handling one delivery did."""

    STARTED = "started"  # a new run under the request id
    EXISTING = "existing"  # the same request already runs (a redelivery or duplicate): nothing started
    DEAD_LETTERED = "dead_lettered"  # invalid or conflicting: nothing started, the message dead-lettered


@dataclass(frozen=True)
class QueueMessage:
    """The parts of a Service Bus message this app reads."""

    body: bytes
    message_id: str
    delivery_count: int = 1


async def handle_message(
    message: QueueMessage,
    *,
    orchestrations: Orchestrations,
    settings: Settings,
    settlement: Settlement,
    now: datetime,
    selectors: SelectorStore | None = None,
) -> Outcome:
    """Validate, start once under the request id, settle; logs name the message and request ids, never the body."""
    mid = message.message_id or "(none)"
    try:
        request = parse_request(message.body, settings=settings, message_id=message.message_id, new_id=_no_new_id)
    except RequestValidationError as exc:
        log.warning("message %s (delivery %d) refused, dead-lettering: invalid %s", mid, message.delivery_count,
                    ", ".join(p["field"] or "(body)" for p in exc.problems))
        settlement.dead_letter(INVALID_REASON, describe(exc.problems))
        return Outcome.DEAD_LETTERED
    except _NoRequestId:
        log.warning("message %s refused, dead-lettering: no message id and no requestId", mid)
        settlement.dead_letter(INVALID_REASON, NO_ID_DESCRIPTION)
        return Outcome.DEAD_LETTERED
    try:
        decision = await start_once(request, orchestrations=orchestrations, now=now,
                                    selectors=selectors or (BlobSelectors(settings) if request.subject else None))
    except Exception as exc:
        log.error("message %s: request %s could not start (%s); abandoning for redelivery", mid,
                  request.request_id, type(exc).__name__)
        settlement.abandon()
        raise
    if decision is Decision.CONFLICT:
        log.warning("message %s: request id %s is taken by a different request, dead-lettering", mid,
                    request.request_id)
        settlement.dead_letter(CONFLICT_REASON, f"/requestId: {request.request_id!r} already identifies a request "
                                                "with a different body; use a new requestId")
        return Outcome.DEAD_LETTERED
    settlement.complete()
    outcome = Outcome.STARTED if decision is Decision.START else Outcome.EXISTING
    log.info("message %s (delivery %d): request %s (%s) %s", mid, message.delivery_count, request.request_id,
             request.operation, outcome)
    return outcome


NO_ID_DESCRIPTION = "/requestId: is required when the message has no message id (a redelivery must find its run)"


def describe(problems: list[FieldError]) -> str:
    """The validation problems as one line for DeadLetterErrorDescription ("/field: reason; ..."), bounded."""
    text = "; ".join(f"{p['field'] or '(body)'}: {p['reason']}" for p in problems)
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


class _NoRequestId(ValueError):
    """Neither a requestId nor a message id: a generated id would start a new run on every redelivery."""


def _no_new_id() -> str:
    raise _NoRequestId()
