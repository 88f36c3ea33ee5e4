"""Service errors as the Training API answers them: an HTTP status and a `CustomVisionError {code, message}`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

# Codes for answers the API gateway gives before the service runs; the spec's code enum is
# `modelAsString` (open), and the service itself has no code for these two statuses.
UNAUTHORIZED = "Unauthorized"
TOO_MANY_REQUESTS = "TooManyRequests"
THROTTLE_MESSAGE = "Rate limit is exceeded. Please retry after 1 second."
GENERIC_NOT_FOUND = "NotFound"  # what a delete retried after it succeeded may meet instead of NotFoundProject & co.

# Code used for an HTTP status when a fault or a deny rule needs one.
CODE_FOR_STATUS = {
    400: "BadRequest",
    401: UNAUTHORIZED,
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    429: TOO_MANY_REQUESTS,
}


class ServiceError(Exception):
    """Raised anywhere in a request; the error middleware turns it into the JSON body."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class GatewayError(ServiceError):
    """An answer of the gateway in front of the service: `{"error": {"code", "message"}}`."""

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def code_for_status(status: int) -> str:
    """A plausible service code for an arbitrary status (used by fault injection and deny rules)."""
    return CODE_FOR_STATUS.get(status, "ErrorUnknown" if status >= 500 else "BadRequest")


def bad_request(code: str, message: str) -> ServiceError:
    return ServiceError(400, code, message)


def not_found(code: str, message: str) -> ServiceError:
    return ServiceError(404, code, message)


def project_not_found(project_id: str) -> ServiceError:
    return not_found("NotFoundProject", f"Project {project_id} not found.")


def iteration_not_found(iteration_id: str) -> ServiceError:
    return not_found("NotFoundIteration", f"Iteration {iteration_id} not found.")


def tag_not_found(tag_id: str) -> ServiceError:
    return not_found("NotFoundTag", f"Tag {tag_id} not found.")


def throttled(realistic: bool = False, nth: int = 0) -> ServiceError:
    """A 429. Realistic: the gateway's `{"error": {"code": "429", ...}}`, with `Retry-After` on every other one
    only (the message says when to retry either way); else `TooManyRequests` with `Retry-After: 1`."""
    if realistic:
        headers = {"Retry-After": "1"} if nth % 2 else {}
        return GatewayError(429, "429", THROTTLE_MESSAGE, headers=headers)
    return ServiceError(429, TOO_MANY_REQUESTS, THROTTLE_MESSAGE, headers={"Retry-After": "1"})


@contextlib.contextmanager
def generic_not_found(realism: Any) -> Iterator[None]:
    """Inside a delete: a 404 answers with the generic `NotFound` code when realism is on."""
    try:
        yield
    except ServiceError as exc:
        if exc.status == 404 and realism.enabled:
            raise ServiceError(404, GENERIC_NOT_FOUND, exc.message) from None
        raise
