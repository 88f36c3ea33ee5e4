"""How a refused request body is reported: every problem at once, each a JSON pointer and a reason."""

from __future__ import annotations

from dsr.problems import FieldError


class RequestValidationError(ValueError):
    """The body is not a valid request; `problems` names every bad field (JSON pointer) and why."""

    status = 400

    def __init__(self, problems: list[FieldError]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p['field'] or '(body)'}: {p['reason']}" for p in problems))


class RequestTooLargeError(RequestValidationError):
    """The body is over MAX_BODY_BYTES; refused unread (HTTP 413)."""

    status = 413


def pointer(path: list[str | int]) -> str:
    """An RFC 6901 JSON pointer ("" is the whole document)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def duplicate_of(first: int) -> str:
    return f"duplicate of item {first}"


def field_error(field: str, reason: str) -> FieldError:
    return FieldError(field=field, reason=reason)
