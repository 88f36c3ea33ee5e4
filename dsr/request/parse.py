"""`parse_request`: the body's bytes to a validated request, or every problem at once (DESIGN.md §3)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dsr.categories import ALL_CATEGORIES, Operation
from dsr.problems import FieldError
from dsr.request import subject_rules
from dsr.request.decode import decode
from dsr.request.errors import RequestTooLargeError, RequestValidationError, field_error
from dsr.request.model import DataRequest, is_request_id, request_id_from_message
from dsr.request.rules import OLDER_THAN, rule_problems
from dsr.request.schema import schema_problems
from dsr.settings import DEFAULT_RESOURCE, Settings

MAX_BODY_BYTES = 64 * 1024
MAX_PROBLEMS = 50  # a hostile body can hold thousands; the first fifty say enough


def parse_request(
    body: bytes,
    *,
    settings: Settings,
    message_id: str | None = None,
    new_id: Callable[[], str],
) -> DataRequest:
    """Validate a request body; raise RequestValidationError listing every problem, or return the request.

    The request id is the body's `requestId`, else `message_id` (Service Bus; made valid
    deterministically when it is not), else `new_id()`.
    """
    if len(body) > MAX_BODY_BYTES:
        raise RequestTooLargeError(
            [field_error("", f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} bytes")]
        )
    document = decode(body)
    problems = schema_problems(document)
    if isinstance(document, dict):
        problems += rule_problems(document, settings)
    problems = _unique(problems)
    if problems:
        if len(problems) > MAX_PROBLEMS:
            hidden = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], field_error("", f"{hidden} more problems not shown")]
        raise RequestValidationError(problems)
    return _build(document, settings, message_id=message_id, new_id=new_id)


def _build(document: dict[str, Any], settings: Settings, *, message_id: str | None,
           new_id: Callable[[], str]) -> DataRequest:
    """The normalized request of a valid body: projects lower-case and sorted, categories in their order."""
    projects = document.get("projects")
    given = set(document.get("categories") or ALL_CATEGORIES)
    request = DataRequest(
        operation=Operation(document["operation"]),
        resource=document.get("resource", DEFAULT_RESOURCE),
        request_id=_request_id(document.get("requestId"), message_id, new_id),
        projects=tuple(sorted(str(uuid.UUID(p)) for p in projects)) if projects is not None else None,
        categories=tuple(c for c in ALL_CATEGORIES if c in given),
        dry_run=document.get("dryRun", False),
        confirm=document.get("confirm"),
        predictions_older_than_days=document.get(OLDER_THAN),
    )
    if not subject_rules.is_subject_request(document):
        return request
    resources, subject = subject_rules.build(document, settings)
    return replace(request, resource=resources[0] if len(resources) == 1 else subject_rules.ALL,
                   resources=resources, subject=subject, categories=subject_rules.categories(subject))


def _request_id(given: str | None, message_id: str | None, new_id: Callable[[], str]) -> str:
    if given is not None:
        return given
    if message_id:
        return request_id_from_message(message_id)
    generated = new_id()
    if not is_request_id(generated):
        raise ValueError(f"new_id() returned {generated!r}, which is not a valid request id")
    return generated




def _unique(problems: list[FieldError]) -> list[FieldError]:
    seen: set[tuple[str, str]] = set()
    result: list[FieldError] = []
    for p in problems:
        if (p["field"], p["reason"]) not in seen:
            seen.add((p["field"], p["reason"]))
            result.append(p)
    return result
