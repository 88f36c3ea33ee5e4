"""The TPS limit: a burst is answered with 429 + Retry-After, and a client that honours it gets every answer."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.emulator.conftest import retry_after
from tests.emulator.recorded_facts import THROTTLED
from tests.emulator.spec import SpecValidator

BURST = 50


@pytest.fixture(scope="module")
def server(emulator_factory):  # type: ignore[no-untyped-def]
    return emulator_factory("demo", tps=10)


def _burst(url: str, key: str, *, honour: bool) -> list[requests.Response]:
    """BURST concurrent GetProjects calls; with `honour`, each retries after Retry-After until answered."""

    def one(_: int) -> requests.Response:
        with requests.Session() as session:
            while True:
                response = session.get(url, headers={"Training-Key": key}, timeout=60)
                if response.status_code != 429 or not honour:
                    return response
                time.sleep(retry_after(response))

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def test_burst_gets_429_with_retry_after(server, spec: SpecValidator) -> None:  # type: ignore[no-untyped-def]
    before = server.stats()["throttled"]
    started = time.monotonic()
    responses = _burst(f"{server.endpoint}/customvision/v3.3/training/projects", server.training_key, honour=False)
    elapsed = time.monotonic() - started
    throttled = [r for r in responses if r.status_code == 429]
    assert throttled, f"no 429 in a burst of {BURST} that took {elapsed:.1f}s"
    assert {r.status_code for r in responses} <= {200, 429}
    # 10 tokens in the bucket plus 10 a second: a burst this size always overflows it.
    assert len(throttled) >= BURST - 10 - 10 * elapsed - 1, (len(throttled), elapsed)
    for response in throttled:  # THROTTLED: the gateway's body; Retry-After only sometimes
        assert response.json()["error"]["code"] == "429", THROTTLED.source
        assert response.json()["error"]["message"].endswith("Please retry after 1 second.")
        assert response.headers.get("Retry-After", "1") == "1"
        spec.check("GetProjects", response)
    with_header = sum("Retry-After" in r.headers for r in throttled)
    assert 0 < with_header < len(throttled), "a 429 comes with or without Retry-After"
    assert server.stats()["throttled"] - before == len(throttled)


def test_client_honouring_retry_after_gets_every_answer(server, spec: SpecValidator) -> None:  # type: ignore[no-untyped-def]
    responses = _burst(
        f"{server.endpoint}/customvision/v3.4-preview/training/projects", server.training_key, honour=True
    )
    assert [r.status_code for r in responses] == [200] * BURST
    for response in responses:
        spec.check("GetProjects", response)
    stats = server.stats()
    assert stats["byOperation"]["GetProjects"] >= 2 * BURST and stats["throttled"] > 0


def test_test_only_endpoints_are_not_rate_limited(server) -> None:  # type: ignore[no-untyped-def]
    _burst(f"{server.endpoint}/customvision/v3.3/training/projects", server.training_key, honour=False)
    assert all(server.stats() for _ in range(30))
