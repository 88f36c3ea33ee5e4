"""Shared steps of the end-to-end tests: start the app on devhost, submit, wait, read the export back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from azure.storage.blob import ContainerClient

from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.emulator import Emulator
from localrun.process import REPO_ROOT
from tests.fixtures.devhost import DevhostFactory

TRAINING_KEY = "e2e-training-key-5bd1c0e9"  # distinctive, so a leak is found by a plain search
RECEIPT_KEY = "e2e-receipt-signing-key-77aa"
ALL_CATEGORIES = ["account", "projects", "iterations", "iteration_performance", "tags", "images",
                  "exported_models", "predictions"]


def app_env(emulator: Emulator, azurite: Azurite, container: str) -> dict[str, str]:
    """The settings DESIGN.md §3 names, pointing at the local emulator and Azurite."""
    return {
        "CUSTOMVISION_ENDPOINT": emulator.endpoint,
        "CUSTOMVISION_TRAINING_KEY": emulator.training_key,
        "CUSTOMVISION_RESOURCES": "{}",
        "EXPORT_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "EXPORT_STORAGE_ACCOUNT_URL": "",
        "EXPORT_CONTAINER": container,
        "RECEIPT_SIGNING_KEY": RECEIPT_KEY,
        "AzureWebJobsStorage": azurite.connection_string,
    }


def start_app(devhost_factory: DevhostFactory, emulator: Emulator, azurite: Azurite, container: str) -> Devhost:
    return devhost_factory(REPO_ROOT, env=app_env(emulator, azurite, container))


def submit(host: Devhost, body: dict[str, Any]) -> str:
    response = host.post("api/requests", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def wait_finished(host: Devhost, request_id: str, *, timeout: float = 600) -> dict[str, Any]:
    """Poll GET /api/requests/{id} until the request is no longer running."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = host.get(f"api/requests/{request_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in ("Completed", "Failed", "Terminated"):
            return body
        time.sleep(0.2)
    raise TimeoutError(f"request {request_id} still {body.get('status')!r}: {body.get('progress')}")


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll `condition` until it gives something truthy, and return that; TimeoutError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise TimeoutError(f"never saw: {what}")


def read_manifest(container: ContainerClient, request_id: str) -> dict[str, Any]:
    return json.loads(container.download_blob(f"{request_id}/manifest.json").readall())


def exported_images(manifest: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(projectId, imageId) -> sha256 of every exported workspace/iteration image file."""
    images: dict[tuple[str, str], str] = {}
    for record in manifest["files"]:
        parts = record["path"].split("/")
        if len(parts) == 4 and parts[0] == "projects" and parts[2] == "images":
            images[(parts[1], parts[3].rsplit(".", 1)[0])] = record["sha256"]
    return images


def truth_images(state: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(projectId, imageId) -> sha256 of every image the emulator holds (workspace or iteration-only)."""
    return {(p["id"], i["id"]): i["sha256"] for p in state["projects"] for i in p["images"]}


def all_histories(host: Devhost) -> str:
    """Inputs, outputs, custom status and history of every orchestration instance, as one text."""
    texts, instances, token = [], [], ""
    while True:  # instance listings come in pages of 100, as on Azure
        listing = host.get("runtime/webhooks/durabletask/instances", params={"showInput": "true"},
                           headers={"x-ms-continuation-token": token} if token else {})
        assert listing.status_code == 200, listing.text
        texts.append(listing.text)
        instances.extend(listing.json())
        token = listing.headers.get("x-ms-continuation-token", "")
        if not token:
            break
    for instance in instances:
        detail = host.get(
            f"runtime/webhooks/durabletask/instances/{instance['instanceId']}",
            params={"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"},
        )
        texts.append(detail.text)
    return "\n".join(texts)
