"""The result every activity returns: status, count and an error, so one failure never aborts the others."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from dsr.categories import CategoryStatus
from dsr.redact import redact

MAX_MESSAGE = 500


class ErrorInfo(TypedDict):
    """Why a category failed: the service's error code (or exception type) and a redacted message."""

    code: str
    message: str


class CategoryResult(TypedDict):
    """One category's outcome for one project (or the account)."""

    status: str
    count: int
    error: ErrorInfo | None
    files: NotRequired[int]
    details: NotRequired[dict[str, Any]]


def complete(count: int, **extra: Any) -> CategoryResult:
    return CategoryResult(status=CategoryStatus.COMPLETE, count=count, error=None, **extra)


def skipped(reason: str, *, code: str = "Skipped") -> CategoryResult:
    return CategoryResult(status=CategoryStatus.SKIPPED, count=0, error=ErrorInfo(code=code, message=reason))


def failed(code: str, message: str, *, count: int = 0) -> CategoryResult:
    return CategoryResult(
        status=CategoryStatus.FAILED, count=count, error=ErrorInfo(code=code, message=redact(message)[:MAX_MESSAGE])
    )


def error_info(exc: BaseException) -> ErrorInfo:
    """The service error code when the exception carries one, else the exception type; message redacted."""
    code = getattr(exc, "error_code", None) or type(exc).__name__
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if status:
        message = f"HTTP {status}: {message}"
    return ErrorInfo(code=str(code), message=redact(str(message).splitlines()[0] if message else "")[:MAX_MESSAGE])


def failed_from(exc: BaseException, *, count: int = 0) -> CategoryResult:
    info = error_info(exc)
    return failed(info["code"], info["message"], count=count)


def merge(results: list[CategoryResult]) -> CategoryResult:
    """Combine per-project results of one category: failed if any failed, skipped only if all skipped."""
    if not results:
        return skipped("no projects")
    count = sum(r["count"] for r in results)
    failures = [r for r in results if r["status"] == CategoryStatus.FAILED]
    if failures:
        first = failures[0]["error"] or ErrorInfo(code="Failed", message="")
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return failed(first["code"], first["message"] + more, count=count)
    if all(r["status"] == CategoryStatus.SKIPPED for r in results):
        return CategoryResult(status=CategoryStatus.SKIPPED, count=0, error=results[0]["error"])
    return complete(count)


TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def is_permanent(exc: BaseException) -> bool:
    """A service answer that retrying will not change (4xx other than 408/429); anything else may be transient."""
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in TRANSIENT_STATUS
