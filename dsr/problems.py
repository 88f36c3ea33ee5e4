"""RFC 9457 problem details: the one error shape every API answer uses."""

from __future__ import annotations

from http import HTTPStatus
from typing import NotRequired, TypedDict

CONTENT_TYPE = "application/problem+json"


class FieldError(TypedDict):
    """One bad field: a JSON pointer into the body ("" is the whole body) and why."""

    field: str
    reason: str


class Problem(TypedDict):
    """An RFC 9457 problem document, with the `errors` extension member."""

    type: str
    title: str
    status: int
    detail: str
    instance: NotRequired[str]
    errors: NotRequired[list[FieldError]]


def problem(
    status: int,
    title: str | None,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    instance: str | None = None,
) -> Problem:
    """A problem document; `title` defaults to the status phrase, `type` is about:blank (RFC 9457 §4.2.1)."""
    body = Problem(type="about:blank", title=title or HTTPStatus(status).phrase, status=status, detail=detail)
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    return body
