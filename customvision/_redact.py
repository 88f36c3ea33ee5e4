"""The one list of secret patterns, and redaction for logs and error messages: keys, tokens and SAS signatures
never leak. The app's own scrubbing (dsr/redact.py) uses these very patterns, so a leak fixed here is fixed
everywhere; they live in this package because it is the lower layer (dsr imports it, never the reverse)."""

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

# Secrets in free text: group 1 is kept, the rest of the match becomes REDACTED.
SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._~+/=-]+"),  # an Entra ID access token
    re.compile(r"(?i)(sig=)[^&\s\"']+"),  # a SAS signature, in a URL or a connection string
    re.compile(r"(?i)((?:AccountKey|SharedAccessKey)=)[^;\s\"']+"),  # Storage / Service Bus connection strings
    re.compile(r"(?i)([\"']?(?:training-key|prediction-key|ocp-apim-subscription-key|authorization)[\"']?\s*[:=]\s*"
               r"[\"']?)(?!Bearer\s)[^\"'\s,}]+"),  # key headers, as HTTP, JSON or Python reprs write them
)

# Stricter, for exception text only (there a `...key=value` pair is never data): any name that says secret.
ASSIGNED_SECRET = re.compile(r"(?i)\b([\w-]*(?:key|secret|password|passwd|token|credential|signature))(\s*[=:]\s*)"
                             r"[^\s&;,'\"]+")

# JSON member names that may hold a credential (answers drop such members wherever they appear).
SECRET_FIELD = re.compile(r"(?i)(key|secret|password|passwd|token|credential|connectionstring|sig|sas)$")


def redact(text: str) -> str:
    """`text` with every SAS signature, account or Service Bus key, key header and bearer token replaced."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def redact_url(url: str) -> str:
    """Keep the path and the allow-listed query values; everything else becomes REDACTED."""
    return sanitize_url(url, set(ALLOWED_QUERY_PARAMS), REDACTED)


def redact_header(name: str, value: str) -> str:
    """The value if the header is allow-listed, REDACTED otherwise."""
    return value if name.lower() in {h.lower() for h in ALLOWED_HEADERS} else REDACTED
