"""A validated request, as the orchestration carries it: normalized, JSON-native, fingerprinted; and its id."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from dsr.canonical_json import sorted_json
from dsr.categories import ALL_CATEGORIES, Category, Operation
from dsr.subject.selector import Subject

REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch only: in Python `$` also matches before "\n"


class RequestDict(TypedDict):
    """`DataRequest.to_dict()`: normalized, JSON-native, the API's camelCase keys."""

    requestId: str
    operation: str
    resource: str
    projects: list[str] | None
    categories: list[str]
    dryRun: bool
    confirm: str | None
    predictionsOlderThanDays: NotRequired[int]  # present only when given, so older requests keep their fingerprint
    resources: NotRequired[list[str]]  # subject requests: the aliases searched
    subject: NotRequired[dict[str, Any]]  # subject requests: the selector (`Subject.to_dict()`); never in history


@dataclass(frozen=True, kw_only=True)
class DataRequest:
    """A validated request: projects lower-case and sorted, categories in canonical order."""

    operation: Operation
    resource: str
    request_id: str
    projects: tuple[str, ...] | None = None  # None: every project of the resource
    categories: tuple[Category, ...] = ALL_CATEGORIES
    dry_run: bool = False
    confirm: str | None = None
    predictions_older_than_days: int | None = None  # delete: only predictions older than this many days
    resources: tuple[str, ...] | None = None  # subject requests: the aliases searched (resource: the one, or "*")
    subject: Subject | None = None  # one data subject's images (and predictions) instead of whole categories

    def to_dict(self) -> RequestDict:
        """The normalized request as the orchestration input carries it."""
        data = RequestDict(
            requestId=self.request_id,
            operation=str(self.operation),
            resource=self.resource,
            projects=list(self.projects) if self.projects is not None else None,
            categories=[str(c) for c in self.categories],
            dryRun=self.dry_run,
            confirm=self.confirm,
        )
        if self.predictions_older_than_days is not None:
            data["predictionsOlderThanDays"] = self.predictions_older_than_days
        if self.subject is not None:
            data["resources"] = list(self.resources or ())
            data["subject"] = self.subject.to_dict()
        return data

    def fingerprint(self) -> str:
        """sha256 of the canonical normalized body: equal for requests that mean the same thing."""
        return fingerprint(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataRequest:
        """Read back `to_dict()` output (trusted: e.g. an orchestration input); not a validator."""
        projects = data.get("projects")
        subject = data.get("subject")
        return cls(
            resources=tuple(data["resources"]) if subject else None,
            subject=Subject.from_dict(subject) if subject else None,
            operation=Operation(data["operation"]),
            resource=str(data["resource"]),
            request_id=str(data["requestId"]),
            projects=tuple(projects) if projects is not None else None,
            categories=tuple(Category(c) for c in data.get("categories") or ALL_CATEGORIES),
            dry_run=bool(data.get("dryRun", False)),
            confirm=data.get("confirm"),
            predictions_older_than_days=data.get("predictionsOlderThanDays"),
        )


def fingerprint(request: Mapping[str, Any]) -> str:
    """sha256 hex of `request` as canonical JSON (sorted keys, no whitespace, ASCII)."""
    return hashlib.sha256(sorted_json(request, ascii_only=True)).hexdigest()


def new_request_id() -> str:
    """A fresh random request id (a UUID4, which fits the requestId pattern)."""
    return str(uuid.uuid4())


def is_request_id(value: object) -> bool:
    """True for 1-64 characters of [A-Za-z0-9_-]: safe as an instance id and a blob prefix."""
    return isinstance(value, str) and REQUEST_ID.fullmatch(value) is not None


def request_id_from_message(message_id: str) -> str:
    """A queue message id as a request id: itself when valid, else a stable id derived from it."""
    if is_request_id(message_id):
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"msg-{digest[:40]}"
