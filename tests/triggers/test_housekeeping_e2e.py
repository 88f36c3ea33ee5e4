"""Housekeeping end to end on devhost + Azurite: a finished export's blobs and history go, receipts stay."""

from __future__ import annotations

import time

import pytest
from azure.storage.blob import BlobServiceClient

from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.process import REPO_ROOT
from tests.e2e.helpers import app_env
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = pytest.mark.e2e
CONTAINER = "housekeeping-e2e"


@pytest.fixture
def host(devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite) -> Devhost:
    emulator = emulator_factory("demo", tps=1000)
    env = {
        **app_env(emulator, azurite, CONTAINER),
        "EXPORT_RETENTION_DAYS": "0",  # everything written before the run is past retention
        "HISTORY_RETENTION_DAYS": "0",
    }
    return devhost_factory(REPO_ROOT, env=env)


def wait(host: Devhost, path: str, done: tuple[str, ...], *, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = host.get(path).json()
        if body.get("status") in done or body.get("runtimeStatus") in done or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_housekeeping_removes_old_exports_and_purges_finished_instances(host: Devhost, azurite: Azurite) -> None:
    started = host.post("api/requests", json={"operation": "export", "requestId": "hk-e2e-1",
                                               "categories": ["projects", "tags"]})
    assert started.status_code == 202, started.text
    assert wait(host, "api/requests/hk-e2e-1", ("Completed", "Failed"))["status"] == "Completed"
    container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(CONTAINER)
    container.upload_blob("receipts/hk-e2e-0.json", b"{}", overwrite=True)  # a delete's receipt: kept forever
    assert any(b.name.startswith("hk-e2e-1/") for b in container.list_blobs())
    instances = host.get("runtime/webhooks/durabletask/instances", params={"instanceIdPrefix": "hk-e2e-1"}).json()
    assert instances and all(i["runtimeStatus"] == "Completed" for i in instances)

    assert host.invoke("housekeeping", {}).status_code == 202
    assert host.log_path is not None
    deadline = time.monotonic() + 60
    while "Executed 'Functions.housekeeping'" not in host.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Executed 'Functions.housekeeping' (Succeeded" in host.log_path.read_text()

    assert [b.name for b in container.list_blobs()] == ["receipts/hk-e2e-0.json"]
    assert host.get("runtime/webhooks/durabletask/instances/hk-e2e-1").status_code == 404
    left = host.get("runtime/webhooks/durabletask/instances", params={"instanceIdPrefix": "hk-e2e-1"}).json()
    assert left == []
    assert "export hk-e2e-1 past 0 days deleted" in host.log_path.read_text()
