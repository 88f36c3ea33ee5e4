"""Where a subject request's selector lives: a blob of the export container, never the orchestration history.

The selector holds personal data (a userId is one). Durable history keeps every orchestration input for
HISTORY_RETENTION_DAYS, replays it, and shows it to anyone who can read the task hub, so the intake writes the
selector to `.work/{requestId}/subject.json` (with a random salt) and the orchestration input carries only a
reference: the salted SHA-256 of the selector and its summary (kind and key names, no values). Every activity
reads the selector from the blob and checks it against the digest. The blob goes with the request's scratch
area when housekeeping removes it (EXPORT_RETENTION_DAYS); the digest left in history is then unlinkable: its
salt is gone with the blob.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any, Protocol, TypedDict

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from dsr.canonical_json import sorted_json
from dsr.layout import SELECTOR, scratch_path
from dsr.settings import Settings
from dsr.subject.selector import Subject, SubjectSummary


class SubjectRef(TypedDict):
    """What the orchestration input holds instead of the selector."""

    digest: str  # sha256 hex of salt + canonical selector; the salt is only in the blob
    summary: SubjectSummary


class SubjectConflict(ValueError):
    """The request id already holds a different selector."""


class SubjectMissing(RuntimeError):
    """The selector blob is gone (retention removed it) or is not the one the request was started with."""

    error_code = "SubjectSelectorMissing"


class SelectorStore(Protocol):
    """The intake's port: keep a request's selector, and tell whether a repeat names the same one."""

    def save(self, request_id: str, subject: Subject) -> SubjectRef: ...

    def matches(self, request_id: str, subject: Subject, ref: Mapping[str, Any]) -> bool: ...


def selector_path(request_id: str) -> str:
    """`.work/{requestId}/subject.json` in the export container."""
    return scratch_path(request_id, SELECTOR)


def digest(salt: str, subject: Subject) -> str:
    return hashlib.sha256(f"{salt}\n".encode() + sorted_json(subject.to_dict())).hexdigest()


class BlobSelectors:
    """Selectors in the export container (created on first use)."""

    def __init__(self, settings: Settings | None = None, *, container: ContainerClient | None = None) -> None:
        self._settings = settings
        self._container = container

    @property
    def container(self) -> ContainerClient:
        if self._container is None:
            from dsr.storage import export_container

            self._container = export_container(self._settings or Settings.from_env(), create=True)
        return self._container

    def save(self, request_id: str, subject: Subject) -> SubjectRef:
        """Write the selector once; a repeat with the same selector gets the stored one's reference, a different
        one raises SubjectConflict (a blob is never overwritten: the run reads it)."""
        salt = secrets.token_hex(16)
        body = json.dumps({"salt": salt, "subject": subject.to_dict()}, ensure_ascii=False).encode()
        blob = self.container.get_blob_client(selector_path(request_id))
        try:
            blob.upload_blob(body, overwrite=False)
        except ResourceExistsError:
            stored = self._read(request_id)
            if stored is None or Subject.from_dict(stored["subject"]) != subject:
                raise SubjectConflict(f"request id {request_id!r} already holds a different subject") from None
            salt = stored["salt"]
        return SubjectRef(digest=digest(salt, subject), summary=subject.summary())

    def matches(self, request_id: str, subject: Subject, ref: Mapping[str, Any]) -> bool:
        stored = self._read(request_id)
        return stored is not None and digest(stored["salt"], subject) == ref.get("digest")

    def load(self, request_id: str, ref: Mapping[str, Any]) -> Subject:
        """The selector the request was started with; SubjectMissing when it is gone or not that one."""
        stored = self._read(request_id)
        if stored is None:
            raise SubjectMissing(f"the subject selector of request {request_id} is gone (retention removed it)")
        subject = Subject.from_dict(stored["subject"])
        if digest(stored["salt"], subject) != ref.get("digest"):
            raise SubjectMissing(f"the subject selector of request {request_id} is not the one it started with")
        return subject

    def _read(self, request_id: str) -> dict[str, Any] | None:
        try:
            data = self.container.get_blob_client(selector_path(request_id)).download_blob().readall()
        except ResourceNotFoundError:
            return None
        stored = json.loads(data)
        return stored if isinstance(stored, dict) and "salt" in stored and "subject" in stored else None
