"""Crashes in the middle of a request: devhost SIGKILLed and restarted on its state dir, Azurite restarted.

Every run must still end with an export that matches the ground truth byte for byte (no duplicate or
missing files) or a delete that verifies clean, with nothing deleted outside the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.emulator import Emulator
from localrun.process import REPO_ROOT
from tests.e2e.helpers import (
    ALL_CATEGORIES,
    TRAINING_KEY,
    app_env,
    exported_images,
    read_manifest,
    submit,
    truth_images,
    wait_finished,
    wait_until,
)
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEED = "demo+synthetic:projects=1,images=700"  # progress-based crash points: no need for more


def wait_for(host: Devhost, request_id: str, ready: Callable[[dict[str, Any]], bool], timeout: float = 300) -> None:
    """Poll the status until `ready(status)`; used to pick the moment of the crash."""

    def reached() -> bool:
        response = host.get(f"api/requests/{request_id}")
        return response.status_code == 200 and ready(response.json())

    wait_until(reached, timeout=timeout, what=f"{request_id} at the crash point", every=0.1)


def images_started(status: dict[str, Any]) -> bool:
    return status.get("phase") == "exporting" and status["progress"].get("projects", {}).get("total", 0) > 0


def wait_for_images(container: ContainerClient, request_id: str, count: int, timeout: float = 300) -> None:
    """Wait until the export holds at least `count` image files: a crash point set by progress, not by a clock."""

    def copied() -> bool:
        images = sum("/images/" in b.name for b in container.list_blobs(name_starts_with=request_id))
        return count <= 0 or images >= count

    wait_until(copied, timeout=timeout, what=f"{request_id} with {count} images copied", every=0.1)


def check_export(container: ContainerClient, emulator: Emulator, request_id: str) -> None:
    manifest = read_manifest(container, request_id)
    assert exported_images(manifest) == truth_images(emulator.state())
    listed = {f["path"] for f in manifest["files"]}
    blobs = {b.name[len(request_id) + 1:] for b in container.list_blobs(name_starts_with=f"{request_id}/")}
    assert blobs == listed | {"manifest.json"}  # nothing duplicated, nothing left over, nothing missing


def restarted(devhost_factory: DevhostFactory, env: dict[str, str], state_dir: Path) -> Devhost:
    # short leases: a restarted devhost takes a killed one's work over after 3 s (default 30 s, as on Azure)
    return devhost_factory(REPO_ROOT, env={**env, "DEVHOST_LEASE_SECONDS": "3"}, state_dir=state_dir)


@pytest.mark.parametrize("copied", [0, 100, 400])  # killed as the projects start, early in and deep into the images
def test_export_survives_devhost_sigkill(
    copied: int, devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite,
    tmp_path: Path,
) -> None:
    emulator = emulator_factory(SEED, training_key=TRAINING_KEY, tps=50)
    container_name = f"e2e-crash-export-{copied}"
    env = app_env(emulator, azurite, container_name)
    host = restarted(devhost_factory, env, tmp_path / "state")
    request_id = f"crash-export-{copied}"
    submit(host, {"operation": "export", "requestId": request_id})
    wait_for(host, request_id, images_started)
    wait_for_images(ContainerClient.from_connection_string(azurite.connection_string, container_name), request_id,
                    copied)
    host.kill()  # SIGKILL: in-flight activities and orchestrator episodes are lost mid-way

    host = restarted(devhost_factory, env, tmp_path / "state")
    status = wait_finished(host, request_id)
    assert status["status"] == "Completed", status
    assert all(r["status"] != "failed" for r in status["result"]["categories"].values()), status
    check_export(ContainerClient.from_connection_string(azurite.connection_string, container_name), emulator,
                 request_id)


def test_delete_survives_devhost_sigkill(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite, tmp_path: Path
) -> None:
    emulator = emulator_factory(SEED, training_key=TRAINING_KEY, tps=50)
    env = app_env(emulator, azurite, "e2e-crash-delete")
    before = emulator.state()
    targets = [p["id"] for p in before["projects"]][1:]  # keep the first demo project
    host = restarted(devhost_factory, env, tmp_path / "state")
    submit(host, {"operation": "delete", "requestId": "crash-delete", "projects": targets, "confirm": "default",
                  "categories": ALL_CATEGORIES})
    wait_for(host, "crash-delete", lambda s: s.get("phase") == "deleting")
    wait_until(lambda: emulator.stats()["byOperation"].get("DeleteImages", 0) > 0, timeout=300,
               what="the first DeleteImages")  # deleting has begun
    host.kill()

    host = restarted(devhost_factory, env, tmp_path / "state")
    status = wait_finished(host, "crash-delete")
    assert status["status"] == "Completed", status
    assert status["result"]["receipt"]["verification"]["clean"] is True
    after = emulator.state()
    assert [p["id"] for p in after["projects"]] == [before["projects"][0]["id"]]
    assert after["projects"][0] == before["projects"][0]  # nothing deleted outside the request


def test_export_survives_azurite_restart(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    azurite = Azurite(tmp_path / "azurite", log_path=tmp_path / "azurite.log").start()
    try:
        emulator = emulator_factory(SEED, training_key=TRAINING_KEY, tps=50)  # its images live in the session Azurite
        env = app_env(emulator, azurite, "e2e-crash-azurite")
        host = restarted(devhost_factory, env, tmp_path / "state")
        submit(host, {"operation": "export", "requestId": "crash-azurite"})
        wait_for(host, "crash-azurite", images_started)
        wait_for_images(ContainerClient.from_connection_string(azurite.connection_string, "e2e-crash-azurite"),
                        "crash-azurite", 100)
        azurite.stop()  # the export account goes away mid-copy ...
        time.sleep(2.0)
        azurite.restart()  # ... and comes back with its data, on the same ports
        status = wait_finished(host, "crash-azurite")
        assert status["status"] == "Completed", status
        assert all(r["status"] != "failed" for r in status["result"]["categories"].values()), status
        check_export(ContainerClient.from_connection_string(azurite.connection_string, "e2e-crash-azurite"),
                     emulator, "crash-azurite")
    finally:
        azurite.stop()
