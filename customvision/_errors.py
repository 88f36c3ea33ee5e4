"""Errors: decode `CustomVisionError {code, message}` and map codes (never message text) to azure-core types."""

import json
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.rest import HttpResponse

from ._codes import CustomVisionErrorCode
from ._redact import redact

ErrorCode = CustomVisionErrorCode | str


class CustomVisionHttpError(HttpResponseError):
    """An error response from the Training API; `error_code` is the service code (enum when known)."""

    def __init__(
        self,
        message: str,
        response: HttpResponse | None = None,
        *,
        error_code: ErrorCode | None = None,
        service_message: str = "",
    ) -> None:
        super().__init__(message=message, response=response)
        self.message = message
        self.error_code = error_code
        self.service_message = service_message

    def __str__(self) -> str:
        """Only our own summary: azure-core would append the raw body."""
        return self.message


class CustomVisionNotFoundError(CustomVisionHttpError, ResourceNotFoundError):
    """The project, iteration, tag, image or domain does not exist (`NotFound*`)."""


class CustomVisionAuthenticationError(CustomVisionHttpError, ClientAuthenticationError):
    """The key or token was refused (401, or a `Forbidden*` code)."""


class CustomVisionConflictError(CustomVisionHttpError, ResourceExistsError):
    """A `Conflict*` code."""


class IterationPublishedError(CustomVisionHttpError):
    """The iteration is published: unpublish it, then retry the delete."""


class ThrottledError(CustomVisionHttpError):
    """Still 429 after the retries; `retry_after` is the service's hint in seconds, if it gave one."""

    retry_after: float | None = None


def parse_error_body(response: HttpResponse) -> tuple[str | None, str]:
    """Return (code, message) from `{code, message}` or the gateway's `{"error": {code, message}}`."""
    try:
        body: Any = json.loads(response.text() or "null")
    except (ValueError, UnicodeDecodeError):
        return None, ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if not isinstance(body, dict):
        return None, ""
    code, message = body.get("code"), body.get("message")
    return (str(code) if code is not None else None), (str(message) if message is not None else "")


def to_error_code(code: str | None) -> ErrorCode | None:
    """The enum member for a known code, the raw string otherwise (e.g. a gateway's "401")."""
    if code is None:
        return None
    try:
        return CustomVisionErrorCode(code)
    except ValueError:
        return code


def _error_class(code: ErrorCode | None, status: int) -> type[CustomVisionHttpError]:
    """Pick the exception type: by service code first, by HTTP status when the code says nothing."""
    if status == 429:
        return ThrottledError
    if isinstance(code, CustomVisionErrorCode):
        if code is CustomVisionErrorCode.BAD_REQUEST_ITERATION_IS_PUBLISHED:
            return IterationPublishedError
        if code is CustomVisionErrorCode.NOT_FOUND_APIM_SUBSCRIPTION:
            return CustomVisionAuthenticationError
        if code.value.startswith("NotFound"):
            return CustomVisionNotFoundError
        if code.value.startswith("Forbidden") and code is not CustomVisionErrorCode.FORBIDDEN_DR_MODE_ENABLED:
            return CustomVisionAuthenticationError
        if code.value.startswith("Conflict"):
            return CustomVisionConflictError
        if code is not CustomVisionErrorCode.NO_ERROR:
            return CustomVisionHttpError
    return {401: CustomVisionAuthenticationError, 403: CustomVisionAuthenticationError,
            404: CustomVisionNotFoundError, 409: CustomVisionConflictError}.get(status, CustomVisionHttpError)


def error_from_response(response: HttpResponse, *, retry_after: float | None = None) -> CustomVisionHttpError:
    """Build the typed exception for an error response; the message never carries secrets."""
    raw_code, service_message = parse_error_body(response)
    code = to_error_code(raw_code)
    service_message = redact(service_message)
    label = code.value if isinstance(code, CustomVisionErrorCode) else code
    summary = f"({label}) {service_message}" if label else f"HTTP {response.status_code} {response.reason}"
    summary = f"{summary} [{response.request.method} {response.status_code}]"
    error = _error_class(code, response.status_code)(
        summary, response, error_code=code, service_message=service_message
    )
    if isinstance(error, ThrottledError):
        error.retry_after = retry_after
    return error


def is_not_found(error: Exception) -> bool:
    """True for a 404 that the service itself confirmed with a `NotFound*` code (not a wrong URL)."""
    code = getattr(error, "error_code", None)
    return isinstance(error, CustomVisionNotFoundError) and isinstance(code, CustomVisionErrorCode)
