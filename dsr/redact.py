"""Scrubbing what the app stores or answers: export documents lose SAS queries, answers lose secret-named members,
and text loses secrets by the one list of secret patterns (customvision.SECRET_PATTERNS, through `redact`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from customvision import SECRET_FIELD, redact

__all__ = ["redact", "scrub", "scrub_answer", "strip_query", "without_uris"]


def strip_query(url: str) -> str:
    """A URL without its query string (where SAS tokens live)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def without_uris(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A copy of a service record without the named (SAS-bearing) URI fields."""
    return {k: v for k, v in item.items() if k not in fields}


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value in which no string carries a SAS token or key: URLs lose their query."""
    if isinstance(value, str):
        if "sig=" in value.lower() and "://" in value:
            return strip_query(value)
        return redact(value) if "=" in value else value
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def scrub_answer(value: Any) -> Any:
    """A copy of a JSON value for an API answer: without members whose name could hold a credential, with
    secrets redacted from text."""
    if isinstance(value, dict):
        return {str(k): scrub_answer(v) for k, v in value.items() if not SECRET_FIELD.search(str(k).replace("_", ""))}
    if isinstance(value, list):
        return [scrub_answer(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value
