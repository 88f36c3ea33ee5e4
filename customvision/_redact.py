"""Redaction shared by the logging policies and error messages: keys, tokens and SAS signatures never leak."""

import re

from azure.core.pipeline.policies import HttpLoggingPolicy
from azure.core.pipeline.policies._utils import sanitize_url

REDACTED = "REDACTED"

# Query parameters whose values help debugging and hold no secret (ids lists are long; kept out).
ALLOWED_QUERY_PARAMS = frozenset({
    "api-version", "iterationId", "taggingStatus", "orderBy", "skip", "take", "threshold",
    "overlapThreshold", "allImages", "allIterations", "publishName", "overwrite",
})

# Response/request headers worth seeing; everything else (Training-Key, Authorization, ...) is REDACTED.
ALLOWED_HEADERS = frozenset(HttpLoggingPolicy.DEFAULT_HEADERS_ALLOWLIST) | {"apim-request-id", "x-request-id"}

_SECRET_PATTERNS = (
    re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)([?&;]sig=)[^&\"'\s<>]+"),
    re.compile(r"(?i)(\"?(?:training-key|prediction-key|ocp-apim-subscription-key|authorization)\"?\s*[:=]\s*\"?)"
               r"(?!Bearer\s)[^\"'\s,}]+"),
    re.compile(r"(?i)(AccountKey=)[^;\"'\s]+"),
)


def scrub(text: str) -> str:
    """Replace SAS signatures, key headers, account keys and bearer tokens in free text."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def redact_url(url: str) -> str:
    """Keep the path and the allow-listed query values; everything else becomes REDACTED."""
    return sanitize_url(url, set(ALLOWED_QUERY_PARAMS), REDACTED)


def redact_header(name: str, value: str) -> str:
    """The value if the header is allow-listed, REDACTED otherwise."""
    return value if name.lower() in {h.lower() for h in ALLOWED_HEADERS} else REDACTED
