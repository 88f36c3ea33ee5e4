"""Delete end to end: devhost serving the app, the emulator, Azurite; checked against the emulator's ground truth."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from dsr.delete.receipt_signature import verify
from dsr.signing import key_set
from localrun.azurite import Azurite
from tests.e2e.helpers import ALL_CATEGORIES, TRAINING_KEY, start_app, submit, wait_finished
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEED = "demo+synthetic:projects=3,images=700"  # realistic (the default): 202 deletes take effect after a lag
PROJECT_CATEGORIES = ["projects", "iterations", "iteration_performance", "tags", "images", "predictions"]


def delete_body(request_id: str, projects: list[str], **extra: Any) -> dict[str, Any]:
    return {"operation": "delete", "requestId": request_id, "projects": projects, "confirm": "default", **extra}


def project(state: dict[str, Any], project_id: str) -> dict[str, Any] | None:
    return next((p for p in state["projects"] if p["id"] == project_id), None)


def test_dry_run_then_delete_leaves_nothing_of_the_targets(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    emulator = emulator_factory(SEED, training_key=TRAINING_KEY)
    host = start_app(devhost_factory, emulator, azurite, "e2e-delete")
    before = emulator.state()
    ids = [p["id"] for p in before["projects"]]
    targets, kept = ids[:1] + ids[2:], ids[1:2]  # one demo project and all synthetic ones; the other demo one stays

    submit(host, delete_body("delete-dry", targets, dryRun=True))
    dry = wait_finished(host, "delete-dry")
    assert dry["status"] == "Completed" and dry["result"]["status"] == "dry_run"
    assert emulator.state() == before  # a dry run changes nothing

    submit(host, delete_body("delete-real", targets))
    done = wait_finished(host, "delete-real")
    assert done["status"] == "Completed", done
    result = done["result"]
    after = emulator.state()
    assert emulator.stats()["byOperation"]["DeleteImages"] > 0, "deleted with allIterations: 202, then a lag"
    for pid in targets:
        assert project(after, pid) is None  # project, images (workspace and iteration), tags, predictions gone
    for pid in kept:
        assert project(after, pid) == project(before, pid)  # untouched
    for category in PROJECT_CATEGORIES:  # the dry run announced exactly what the delete removed
        assert result["categories"][category]["count"] == dry["result"]["categories"][category]["count"], category
        assert result["categories"][category]["after"] == 0, category
    assert result["categories"]["images"]["count"] > 2100
    assert all(p["pendingDeletes"] == 0 for p in after["projects"])
    assert result["categories"]["exported_models"]["error"]["code"] == "RemovedWithAccount"

    receipt = result["receipt"]
    assert receipt["verification"]["clean"] is True
    keys = key_set(host.get("api/keys").json())  # ES256: checked with the published public keys alone
    assert verify(receipt, keys)
    container = ContainerClient.from_connection_string(azurite.connection_string, "e2e-delete")
    stored = json.loads(container.download_blob("receipts/delete-real.json").readall())
    assert verify(stored, keys) and not verify({**stored, "requestId": "another"}, keys)
    text = json.dumps(stored)
    for pid in targets:  # no personal data: no image ids, tag names or project names
        gone = project(before, pid)
        assert gone is not None
        assert not any(image["id"] in text for image in gone["images"])
    assert TRAINING_KEY not in text


def test_delete_completes_and_verifies_under_faults(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    emulator = emulator_factory("demo+synthetic:projects=1,images=700", training_key=TRAINING_KEY,
                                fault_rate=0.1, fault_seed=11)
    host = start_app(devhost_factory, emulator, azurite, "e2e-delete-faults")
    ids = [p["id"] for p in emulator.state()["projects"]]
    submit(host, delete_body("delete-faults", ids, categories=ALL_CATEGORIES))
    done = wait_finished(host, "delete-faults")
    assert done["status"] == "Completed", done
    assert done["result"]["receipt"]["verification"]["clean"] is True
    assert emulator.state()["projects"] == []
    assert emulator.stats()["faults"] > 0


def test_delete_without_or_with_wrong_confirm_is_refused_and_touches_nothing(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    emulator = emulator_factory("demo", training_key=TRAINING_KEY)
    host = start_app(devhost_factory, emulator, azurite, "e2e-delete-refused")
    before = emulator.state()
    for extra in ({}, {"confirm": "Default"}, {"confirm": "other"}, {"confirm": True}):
        body = {"operation": "delete", "requestId": "refused", **extra}
        response = host.post("api/requests", json=body)
        assert response.status_code == 400, (extra, response.text)
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert "/confirm" in [e["field"] for e in response.json()["errors"]]
    assert host.get("api/requests/refused").status_code == 404  # nothing started
    assert emulator.state() == before


def test_images_only_delete_waits_for_the_202_lag_and_verifies_clean(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    """Only images: the project stays, so verification itself must outlast the service's asynchronous delete."""
    emulator = emulator_factory("synthetic:projects=1,images=700", training_key=TRAINING_KEY,
                                extra_args=("--delete-lag-seconds", "6"))
    host = start_app(devhost_factory, emulator, azurite, "e2e-delete-lag")
    before = emulator.state()["projects"][0]
    submit(host, delete_body("delete-lag", [before["id"]], categories=["images"]))
    done = wait_finished(host, "delete-lag")
    assert done["status"] == "Completed", done
    images = done["result"]["categories"]["images"]
    copies = before["workspaceImageCount"] + sum(len(it["imageIds"]) for it in before["iterations"])
    assert images["count"] == copies, "every copy, workspace and snapshots (count = before - after)"
    assert images["after"] == 0 and done["result"]["receipt"]["verification"]["clean"] is True
    after = emulator.state()["projects"][0]
    assert after["images"] == [] and after["pendingDeletes"] == 0
    assert [t["id"] for t in after["tags"]] == [t["id"] for t in before["tags"]], "only images were asked for"
