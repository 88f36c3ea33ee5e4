"""Removes secrets (SAS signatures, account keys, training keys) from text and from URLs before storing them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_PATTERNS = [
    (re.compile(r"(?i)(sig=)[^&\s\"']+"), r"\1REDACTED"),
    (re.compile(r"(?i)(AccountKey=)[^;\s\"']+"), r"\1REDACTED"),
    (re.compile(r"(?i)(SharedAccessKey=)[^;\s\"']+"), r"\1REDACTED"),
    (re.compile(r"(?i)(Training-Key['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"), r"\1REDACTED"),
    (re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1REDACTED"),
]


def redact(text: str) -> str:
    """`text` with every SAS signature, account key, training key and bearer token replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


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
