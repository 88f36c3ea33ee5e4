"""Cancelling a running delete through the API, end to end (devhost + emulator + Azurite).

On Azure, terminating an orchestration stops neither its scheduled activities nor its sub-orchestrations
(each project's delete is one), and devhost keeps that rule; a cancel that only terminated would let the
projects' deletes run to the end. The cancel writes a marker the delete steps check before every
destructive call: the deletes stop, and the status and the signed receipt say what was deleted before.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from localrun.azurite import Azurite
from tests.e2e.helpers import start_app, wait_finished
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = [pytest.mark.e2e]

SEED = "synthetic:projects=2,images=1200"
CONTAINER = "e2e-cancel"


def images_left(state: dict[str, Any]) -> int:
    return sum(len(p["images"]) for p in state["projects"])


def test_a_cancelled_delete_stops_deleting_and_its_receipt_says_what_went(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    emulator = emulator_factory(SEED, tps=1000, latency_ms=250)  # ~5 DeleteImages a project: seconds to cancel
    host = start_app(devhost_factory, emulator, azurite, CONTAINER)
    before = images_left(emulator.state())
    body = {"operation": "delete", "requestId": "e2e-cancel-del", "confirm": "default",
            "categories": ["images", "tags"]}
    assert host.post("api/requests", json=body).status_code == 202

    def deletes_sent() -> int:
        return int(emulator.stats()["byOperation"].get("DeleteImages", 0))

    # The first DeleteImages is the sign that deleting has begun: the service answers 202 and the images stay
    # listed (and in the ground truth) for a while after it (docs/real-service.md), so the count can't tell.
    deadline = time.monotonic() + 120
    while deletes_sent() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert deletes_sent() > 0, "the delete never started"
    cancelled = host.delete("api/requests/e2e-cancel-del")
    assert (cancelled.status_code, cancelled.json()["status"]) == (202, "Cancelling")

    status = wait_finished(host, "e2e-cancel-del", timeout=300)
    assert status["status"] == "Completed", status
    result = status["result"]
    assert result["status"] == "cancelled"
    images = result["categories"]["images"]
    assert images["error"]["code"] == "RequestCancelled" and images["after"] > 0
    left = images_left(emulator.state())
    assert 0 < left < before  # stopped part-way: nothing was deleted after the cancel took effect
    receipt = result["receipt"]
    assert receipt["requestId"] == "e2e-cancel-del" and receipt["signature"]
    entry = receipt["results"]["images"]
    assert entry["errorCode"] == "RequestCancelled" and entry["after"] > 0
    assert entry["before"] - entry["after"] == images["count"] > 0  # what went before the cancel
    assert host.delete("api/requests/e2e-cancel-del").status_code == 409
