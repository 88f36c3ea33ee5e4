"""Pipeline policies: client-side pacing, the 429 message hint for retries, and a redacting network trace."""

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, NetworkTraceLoggingPolicy, RetryPolicy
from azure.core.pipeline.policies._utils import parse_retry_after
from azure.core.rest import HttpResponse

from ._redact import redact, redact_header, redact_url

_TRACE = logging.getLogger("customvision.http")
_RETRY_MESSAGE = re.compile(
    r"(?:retry after|try again in)\s+(\d+(?:\.\d+)?)\s*second", re.IGNORECASE
)
_TRACE_BODY_LIMIT = 4096


def retry_after_from_message(text: str) -> float | None:
    """Seconds from "Please retry after N second(s)" (or "Try again in N seconds"), if the body says so."""
    match = _RETRY_MESSAGE.search(text or "")
    return float(match.group(1)) if match else None


def retry_after_seconds(http_response: HttpResponse | Any) -> float | None:
    """The server's delay hint: Retry-After (or its -ms variants), else a 429 body's message."""
    headers = http_response.headers
    for name, scale in (("retry-after", 1.0), ("retry-after-ms", 1000.0), ("x-ms-retry-after-ms", 1000.0)):
        value = headers.get(name)
        if value:
            try:
                return parse_retry_after(value) / scale
            except (ValueError, TypeError):
                continue
    if http_response.status_code != 429:
        return None
    try:
        http_response.read()
        return retry_after_from_message(http_response.text())
    except Exception:  # a body we cannot read gives no hint; the backoff applies
        return None


def retry_after_of(response: PipelineResponse[Any, Any]) -> float | None:
    """`retry_after_seconds` for a pipeline response."""
    return retry_after_seconds(response.http_response)


class Pacer(Protocol):
    """What paces calls: this process's `TokenBucket`, or a budget shared by many processes (dsr.ratebudget)."""

    def acquire(self) -> float:
        """Wait for a slot; returns the seconds waited."""
        ...

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` (the service answered 429 + Retry-After)."""
        ...


class TokenBucket:
    """Thread-safe pacing (GCRA token bucket): at most `tps` calls a second, bursts up to `burst`."""

    def __init__(
        self,
        tps: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if tps <= 0 or burst < 1:
            raise ValueError("tps must be > 0 and burst >= 1")
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep
        self._tps, self._burst = float(tps), burst
        self._next_at = 0.0  # theoretical arrival time of the next call
        self._paused_until = 0.0

    @property
    def tps(self) -> float:
        """Calls per second allowed."""
        return self._tps

    @tps.setter
    def tps(self, value: float) -> None:
        if value <= 0:
            raise ValueError("tps must be > 0")
        with self._lock:
            self._tps = float(value)

    def reserve(self) -> float:
        """Book the next slot and return how long the caller must wait for it (no sleeping)."""
        with self._lock:
            now = self._clock()
            interval = 1.0 / self._tps
            slot = max(self._next_at, now, self._paused_until)
            allowed_at = max(slot - (self._burst - 1) * interval, self._paused_until, now)
            self._next_at = slot + interval
            return allowed_at - now

    def acquire(self) -> float:
        """Wait for a slot; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def pause(self, seconds: float) -> None:
        """Hold every caller of this bucket for `seconds` (the service said 429 + Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


_SHARED: dict[str, TokenBucket] = {}
_SHARED_LOCK = threading.Lock()


def shared_rate_limiter(endpoint: str, tps: float, *, burst: int = 1) -> TokenBucket:
    """One bucket per endpoint in this process, so every client of a resource shares its budget.

    The limit belongs to the resource, so a later call with another `tps` re-rates the shared bucket.
    """
    key = endpoint.rstrip("/").lower()
    with _SHARED_LOCK:
        bucket = _SHARED.get(key)
        if bucket is None:
            bucket = _SHARED[key] = TokenBucket(tps, burst=burst)
        elif bucket.tps != tps:
            bucket.tps = tps
        return bucket


def reset_shared_rate_limiters() -> None:
    """Forget the shared buckets (tests)."""
    with _SHARED_LOCK:
        _SHARED.clear()


class RateLimitPolicy(HTTPPolicy):
    """Takes a token before each attempt (sits inside the retry policy); a 429 pauses the whole bucket."""

    def __init__(self, bucket: Pacer | None = None, *, tps: float | None = None) -> None:
        super().__init__()
        if bucket is None:
            if tps is None:
                raise ValueError("give a bucket or a tps")
            bucket = TokenBucket(tps)
        self.bucket: Pacer = bucket

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Pace, send, and on 429 make every sharer of the bucket wait the server's delay."""
        self.bucket.acquire()
        response = self.next.send(request)
        if response.http_response.status_code == 429:
            delay = retry_after_of(response)
            if delay:
                self.bucket.pause(delay)
        return response


class CustomVisionRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy, plus: a 429 without Retry-After waits the delay its message names.

    A 429 means the call was not processed, so it is retried for POST too (QueryPredictions is a read).
    """

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        """Header first (azure-core), else "Please retry after N second(s)" in a 429 body."""
        return retry_after_of(response)

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        """Retry every 429 while retries remain; the rest as azure-core decides."""
        if response.http_response.status_code == 429:
            return bool(settings["total"])
        return super().is_retry(settings, response)


class RedactingNetworkTracePolicy(NetworkTraceLoggingPolicy):
    """`logging_enable=True` trace without secrets: redacted headers and URL, SAS signatures scrubbed."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        """Log method, redacted URL and headers at DEBUG when tracing is on for this call."""
        enabled = request.context.options.pop("logging_enable", self.enable_http_logger)
        request.context["logging_enable"] = enabled
        if not enabled or not _TRACE.isEnabledFor(logging.DEBUG):
            return
        http_request = request.http_request
        headers = "".join(
            f"\n    {name!r}: {redact_header(name, value)!r}" for name, value in http_request.headers.items()
        )
        body = "a body is sent" if http_request.body else "no body"
        _TRACE.debug("Request %s %s%s\n(%s)", http_request.method, redact_url(http_request.url), headers, body)

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        """Log status, redacted headers and the (scrubbed, truncated) body at DEBUG."""
        if not response.context.get("logging_enable") or not _TRACE.isEnabledFor(logging.DEBUG):
            return
        http_response = response.http_response
        headers = "".join(
            f"\n    {name!r}: {redact_header(name, value)!r}" for name, value in http_response.headers.items()
        )
        try:
            http_response.read()
            body = redact(http_response.text()[:_TRACE_BODY_LIMIT])
        except Exception:  # streamed or undecodable bodies are not traced
            body = "(body not traced)"
        _TRACE.debug("Response %s%s\n%s", http_response.status_code, headers, body)
