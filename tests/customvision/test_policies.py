"""What the emulator cannot produce: a 429 without Retry-After (message hint), connection errors on cue,
a controlled clock for the token bucket, Entra ID tokens in logs.

Retry-After, 5xx retries, bursts and redaction of real keys/SAS URLs run over HTTP in
test_client_against_emulator.py."""

import logging
import threading
import time

import pytest
from azure.core.exceptions import ServiceRequestError

from customvision import (
    ThrottledError,
    TokenBucket,
    TrainingClient,
    retry_after_from_message,
    shared_rate_limiter,
)
from tests.customvision.conftest import ENDPOINT, KEY
from tests.customvision.fakes import ScriptedTransport, sequence

THROTTLED = {"code": "429", "message": "Rate limit is exceeded. Please retry after 3 seconds."}


@pytest.mark.parametrize(("text", "seconds"), [
    ("Please retry after 1 second.", 1.0),
    ("Please retry after 12 seconds", 12.0),
    ("Rate limit is exceeded. Try again in 2 seconds.", 2.0),
    ("please RETRY AFTER 0.5 second(s)", 0.5),
    ("Rate limit is exceeded.", None),
    ("", None),
])
def test_retry_after_from_message(text: str, seconds: float | None) -> None:
    assert retry_after_from_message(text) == seconds


def test_a_429_without_retry_after_waits_what_its_message_says(client, transport) -> None:
    transport.handler = sequence((429, THROTTLED), (429, THROTTLED), (200, {"id": "p"}))
    assert client.get_project("p") == {"id": "p"}
    assert transport.sleeps == [3.0, 3.0]


def test_a_throttled_post_is_retried_too(client, transport) -> None:
    transport.handler = sequence((429, THROTTLED), (200, {"token": {}, "results": [{"id": "a"}]}))
    assert [p["id"] for p in client.query_predictions("p")] == ["a"]
    assert [r.method for r in transport.requests] == ["POST", "POST"]
    assert transport.sleeps == [3.0]


def test_throttling_that_outlasts_the_retries_raises_throttled(transport) -> None:
    transport.handler = sequence((429, THROTTLED))
    with TrainingClient(ENDPOINT, KEY, transport=transport, retry_total=2) as client, \
            pytest.raises(ThrottledError) as caught:
        list(client.list_projects())
    assert caught.value.retry_after == 3.0
    assert len(transport.requests) == 3


def test_connection_errors_are_retried(client, transport) -> None:
    transport.handler = sequence(ServiceRequestError("connection refused"), (200, [{"id": "p"}]))
    assert list(client.list_projects()) == [{"id": "p"}]
    assert len(transport.requests) == 2


class FakeClock:
    """Time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_paces_to_tps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    for _ in range(21):
        bucket.acquire()
    assert clock.now - 100.0 == pytest.approx(2.0)  # first call free, then one every 0.1 s


def test_token_bucket_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, burst=5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        bucket.acquire()
    assert clock.slept == []
    bucket.acquire()
    assert clock.slept == [pytest.approx(0.1)]


def test_token_bucket_pause_holds_every_caller() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.pause(2.0)
    bucket.acquire()
    assert clock.now == pytest.approx(102.0)
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_token_bucket_keeps_many_threads_under_the_rate() -> None:
    bucket = TokenBucket(50)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 40
    assert stamps[-1] - stamps[0] >= 39 / 50 * 0.95
    window = [b - a for a, b in zip(stamps, stamps[10:], strict=False)]
    assert min(window) >= 10 / 50 * 0.7  # about 10 calls in any 0.2 s (threads may wake a little late)


def test_shared_rate_limiter_is_one_bucket_per_endpoint() -> None:
    first = shared_rate_limiter("https://A.example/", 10)
    assert shared_rate_limiter("https://a.example", 10) is first
    assert shared_rate_limiter("https://b.example", 10) is not first
    assert shared_rate_limiter("https://a.example", 5) is first
    assert first.tps == 5
    one = TrainingClient("https://a.example", KEY, tps=5, transport=ScriptedTransport(lambda r: (200, [])))
    two = TrainingClient("https://a.example/", KEY, tps=5, transport=ScriptedTransport(lambda r: (200, [])))
    assert one.rate_limiter is two.rate_limiter is first
    assert TrainingClient("https://a.example", KEY).rate_limiter is None


def test_rate_limit_policy_paces_each_attempt_and_pauses_on_429(transport) -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    transport.handler = sequence((429, THROTTLED, {"Retry-After": "2"}), (200, []))
    with TrainingClient(ENDPOINT, KEY, transport=transport, rate_limiter=bucket) as client:
        list(client.list_projects())
    assert len(transport.requests) == 2
    assert clock.now == pytest.approx(102.0)  # the retry waited for the bucket's pause (transport.sleep is fake)


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_logs_never_show_a_bearer_token(caplog, transport) -> None:
    from tests.customvision.test_client import FakeTokenCredential

    caplog.set_level(logging.DEBUG)
    with TrainingClient(ENDPOINT, FakeTokenCredential(), transport=transport, logging_enable=True) as client:
        list(client.list_projects())
    text = _logged(caplog)
    assert "Authorization" in text
    assert "entra-token" not in text


