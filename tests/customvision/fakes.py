"""A scripted azure-core HttpTransport: answers from a handler, records requests, records sleeps."""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict

Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]
Handler = Callable[[HttpRequest], Reply | Exception]


class FakeResponse(HttpResponseImpl):
    """A complete, already-read response."""

    def __init__(self, request: HttpRequest, status: int, body: bytes, headers: dict[str, str]) -> None:
        headers = case_insensitive_dict(headers)
        super().__init__(request=request, internal_response=None, status_code=status, reason=_REASONS.get(status, ""),
                         headers=headers, content_type=headers.get("Content-Type"), stream_download_generator=None)
        self._content = body

    def close(self) -> None:
        self._is_closed = True


_REASONS = {200: "OK", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}


class ScriptedTransport(HttpTransport):
    """Replies with `handler(request)`: `(status, json_body[, headers])`, or raises the exception it returns."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[HttpRequest] = []
        self.sleeps: list[float] = []

    def send(self, request: HttpRequest, **kwargs: Any) -> FakeResponse:
        self.requests.append(request)
        reply = self.handler(request)
        if isinstance(reply, Exception):
            raise reply
        status, body, *rest = reply
        headers = dict(rest[0]) if rest else {}
        if body is None:
            raw = b""
        elif isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return FakeResponse(request, status, raw, headers)

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "ScriptedTransport":
        return self

    def __exit__(self, *args: object) -> None:
        pass


def query(request: HttpRequest) -> dict[str, str]:
    """The request's query as a flat dict."""
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query, keep_blank_values=True).items()}


def path(request: HttpRequest) -> str:
    """The request's path."""
    return urlsplit(request.url).path


def sequence(*replies: Reply | Exception) -> Handler:
    """A handler that answers with `replies` in order (the last one repeats)."""
    remaining = list(replies)

    def handler(_request: HttpRequest) -> Reply | Exception:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return handler
