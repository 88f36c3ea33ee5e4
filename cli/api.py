"""The request API over HTTP: the three endpoints, the function key in a header, lost answers tried again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from dsr.redact import redact

ATTEMPTS = 3  # tries of one call whose answer was lost (no connection, reset, 429, 5xx)
RETRIED_STATUSES = frozenset({429, *range(500, 600)})
RETRY_AFTER_MAX = 60  # seconds: a longer Retry-After fails the call instead of hanging the command
MAX_TEXT = 200  # characters of an error text shown


def retry_policy(attempts: int = ATTEMPTS, *, backoff: float = 0.5) -> Retry:
    """urllib3's retry of lost answers for every method, waiting Retry-After when the host sends one.

    Safe for POST: a submit always carries a requestId, so the API answers a repeat with the run it already
    started. The last 4xx/5xx answer is returned, not raised, so it reaches the caller as an ApiError.
    """
    return Retry(
        total=attempts - 1, redirect=0, other=0, backoff_factor=backoff, status_forcelist=RETRIED_STATUSES,
        allowed_methods=frozenset({"GET", "POST", "DELETE"}), respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX, raise_on_status=False,
    )


class ApiError(Exception):
    """The API answered with an error (`status`, and `problem` when it is problem+json) or not at all (0)."""

    def __init__(self, status: int, message: str, problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem


class ApiClient:
    """The three request endpoints, with the function key in a header (never in URLs or output)."""

    def __init__(
        self, host: str, key: str | None, *, timeout: float = 30.0, session: requests.Session | None = None,
        retry: Retry | None = None,
    ) -> None:
        self.host = normalize_host(host)
        self.timeout = timeout
        self._session = session or requests.Session()
        adapter = HTTPAdapter(max_retries=retry or retry_policy())
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["Accept"] = "application/json, application/problem+json"
        if key:
            self._session.headers["x-functions-key"] = key

    def __repr__(self) -> str:
        return f"ApiClient({self.host!r})"

    def submit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/requests; `{"id", "statusUri"}` (the id is the request id)."""
        return self._call("POST", "api/requests", json=dict(body))

    def status(self, request_id: str) -> dict[str, Any]:
        """GET /api/requests/{id}."""
        return self._call("GET", f"api/requests/{quote(request_id)}")

    def cancel(self, request_id: str) -> dict[str, Any]:
        """DELETE /api/requests/{id}."""
        return self._call("DELETE", f"api/requests/{quote(request_id)}")

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.host}/{path}"
        try:
            response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(0, f"cannot reach {self.host}: {type(exc).__name__}") from None
        body = _json_or_none(response)
        if response.ok:
            if not isinstance(body, dict):
                raise ApiError(response.status_code, f"{method} {path}: the answer is not a JSON object")
            return body
        content_type = response.headers.get("Content-Type", "")
        problem = body if isinstance(body, dict) and "problem+json" in content_type else None
        if problem is None and isinstance(body, dict) and "title" in body and "status" in body:
            problem = body  # a proxy may drop the media type; the shape is still a problem
        raise ApiError(response.status_code, _error_message(response), problem)


def normalize_host(host: str) -> str:
    """`127.0.0.1:7071`, `http://127.0.0.1:7071/`, `https://app.azurewebsites.net/api` -> the host's root URL."""
    host = host.strip().rstrip("/")
    if not host:
        raise ValueError("no host: pass --host or set DSR_HOST (e.g. http://127.0.0.1:7071)")
    if "://" not in host:
        name = host if host.endswith("]") else host.rsplit(":", 1)[0]
        local = name in ("localhost", "127.0.0.1", "[::1]")
        host = ("http://" if local else "https://") + host
    return host.removesuffix("/api")


def quote(request_id: str) -> str:
    """A request id as one URL path segment."""
    return requests.utils.quote(request_id, safe="")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(response: requests.Response) -> str:
    if response.status_code == 401:
        return "the host refused the function key (401): pass --key or set DSR_FUNCTION_KEY"
    if response.status_code == 403:
        return "the host refused the call (403)"
    text = redact(" ".join(response.text.split()))[:MAX_TEXT]
    return f"HTTP {response.status_code} {response.reason or ''}".rstrip() + (f": {text}" if text else "")
