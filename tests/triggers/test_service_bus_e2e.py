"""The Service Bus trigger end to end through devhost's admin endpoint (a real ServiceBusMessage per delivery).

No broker runs here and devhost has no settlement client, so an invalid message takes the broker-retry path:
the invocation fails with InvalidMessageError carrying the dead-letter reason (the explicit dead-letter call
itself is tested against the SDK in test_service_bus.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.process import REPO_ROOT
from tests.e2e.helpers import app_env
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = pytest.mark.e2e
FUNCTION = "service_bus_request"
SECRET = "sb-e2e-secret-7d41"  # a body value that must never reach a log


@pytest.fixture
def host(devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite) -> Devhost:
    emulator = emulator_factory("demo", tps=1000)
    env = {
        **app_env(emulator, azurite, "service-bus-e2e"),
        "DSR_SCHEDULES": "[]",
    }
    return devhost_factory(REPO_ROOT, env=env)


def log_text(host: Devhost) -> str:
    assert host.log_path is not None
    return host.log_path.read_text(encoding="utf-8", errors="replace")


def wait_for_invocations(host: Devhost, count: int, *, timeout: float = 60) -> str:
    """Poll devhost's log until `count` invocations of the trigger have finished (admin calls run in background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_text(host)
        if text.count(f"Executed 'Functions.{FUNCTION}'") >= count:
            return text
        time.sleep(0.1)
    raise TimeoutError(f"fewer than {count} invocations of {FUNCTION} finished")


def instance(host: Devhost, instance_id: str, *, until_done: bool = False, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = host.get(f"runtime/webhooks/durabletask/instances/{instance_id}", params={"showHistory": "true"})
        body = response.json() if response.status_code == 200 else {"status": response.status_code}
        if not until_done or body.get("runtimeStatus") in ("Completed", "Failed", "Terminated"):
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"{instance_id} still {body.get('runtimeStatus')!r}")
        time.sleep(0.2)


def test_a_message_delivered_three_times_starts_one_run_and_an_invalid_one_none(host: Devhost) -> None:
    body = json.dumps({"operation": "export", "categories": ["projects"]})
    for delivery in (1, 2, 3):  # redeliveries of one message: same message id, rising delivery count
        accepted = host.invoke(FUNCTION, {"input": body, "messageId": "sb-e2e-1", "deliveryCount": delivery})
        assert accepted.status_code == 202, accepted.text
    text = wait_for_invocations(host, 3)

    done = instance(host, "sb-e2e-1", until_done=True)
    assert done["runtimeStatus"] == "Completed", done
    assert [e["EventType"] for e in done["historyEvents"]].count("ExecutionStarted") == 1
    listing = host.get("runtime/webhooks/durabletask/instances", params={"instanceIdPrefix": "sb-e2e-"}).json()
    assert [i["instanceId"] for i in listing if ":" not in i["instanceId"]] == ["sb-e2e-1"]  # not sub-orchestrations
    assert "message sb-e2e-1" in text

    invalid = json.dumps({"operation": "export", "confirm": SECRET})
    assert host.invoke(FUNCTION, {"input": invalid, "messageId": "sb-e2e-bad"}).status_code == 202
    text = wait_for_invocations(host, 4)
    assert instance(host, "sb-e2e-bad") == {"status": 404}  # no run started
    assert "InvalidMessageError: InvalidRequest: /confirm: only allowed when operation is delete" in text
    assert "message sb-e2e-bad" in text and SECRET not in text
