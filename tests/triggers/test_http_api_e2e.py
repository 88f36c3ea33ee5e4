"""The HTTP API end to end: devhost serving the real app, the emulator, Azurite; driven like a client would."""

from __future__ import annotations

import pytest
import requests

from localrun.azurite import Azurite
from localrun.devhost import Devhost
from tests.e2e.helpers import start_app, wait_finished
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = pytest.mark.e2e
CONTAINER = "http-api-e2e"


@pytest.fixture
def host(devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite) -> Devhost:
    return start_app(devhost_factory, emulator_factory("demo", tps=1000), azurite, CONTAINER)


def test_export_through_the_api(host: Devhost) -> None:
    bad = host.post("api/requests", json={"operation": "delete", "confirm": "default", "dryrun": True})
    assert bad.status_code == 400
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    assert "/dryrun" in [e["field"] for e in bad.json()["errors"]]
    assert host.get("api/requests/nope").status_code == 404

    body = {"operation": "export", "requestId": "e2e-export-1", "categories": ["projects", "tags"]}
    started = host.post("api/requests", json=body)
    assert started.status_code == 202, started.text
    status_uri = host.url("api/requests/e2e-export-1")
    assert started.json() == {"id": "e2e-export-1", "statusUri": status_uri}  # never Durable's webhook URLs
    assert started.headers["Location"] == status_uri
    assert requests.get(status_uri, headers={"x-functions-key": host.function_key}, timeout=10).status_code == 200

    again = host.post("api/requests", json={**body, "categories": ["tags", "projects"]})
    assert again.status_code == 202 and again.json()["id"] == "e2e-export-1"
    conflict = host.post("api/requests", json={**body, "categories": ["images"]})
    assert conflict.status_code == 409 and conflict.json()["errors"][0]["field"] == "/requestId"

    status = wait_finished(host, "e2e-export-1")
    assert status["status"] == "Completed", status
    assert status["operation"] == "export" and status["dueDate"]
    result = status["result"]
    assert result["categories"]["tags"]["status"] == "complete"
    manifest = requests.get(result["manifestUrl"], timeout=10)
    assert manifest.status_code == 200 and manifest.json()["requestId"] == "e2e-export-1"
    assert "local-training-key" not in str(status) and "AccountKey" not in str(status)

    finished = host.delete("api/requests/e2e-export-1")
    assert finished.status_code == 409

    document = host.get("api/openapi.json")
    assert document.status_code == 200 and document.json()["openapi"].startswith("3.1")


def test_function_key_is_required(host: Devhost) -> None:
    response = requests.post(host.url("api/requests"), json={"operation": "export"}, timeout=10)
    assert response.status_code == 401


def test_cancel_a_running_request(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    slow = start_app(devhost_factory, emulator_factory("demo", tps=1000, latency_ms=400), azurite, CONTAINER)
    started = slow.post("api/requests", json={"operation": "export", "requestId": "e2e-cancel-1"})
    assert started.status_code == 202, started.text
    cancelled = slow.delete("api/requests/e2e-cancel-1")
    assert cancelled.status_code == 202, cancelled.text
    assert wait_finished(slow, "e2e-cancel-1")["status"] == "Terminated"
    assert slow.delete("api/requests/e2e-cancel-1").status_code == 409
    assert slow.delete("api/requests/never-started").status_code == 404
