"""Heavy faults: a fifth of Training API calls answered 429/500/503 or dropped, and every call slowed down."""

from __future__ import annotations

import pytest
from azure.storage.blob import ContainerClient

from localrun.azurite import Azurite
from tests.e2e.helpers import (
    ALL_CATEGORIES,
    TRAINING_KEY,
    exported_images,
    read_manifest,
    start_app,
    submit,
    truth_images,
    wait_finished,
)
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEED = "demo+synthetic:projects=1,images=700"


def test_export_then_delete_under_heavy_faults(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    emulator = emulator_factory(SEED, training_key=TRAINING_KEY, fault_rate=0.2, fault_seed=3, latency_ms=20, tps=50)
    host = start_app(devhost_factory, emulator, azurite, "e2e-heavy-faults")
    before = emulator.state()

    submit(host, {"operation": "export", "requestId": "heavy-export"})
    exported = wait_finished(host, "heavy-export")
    assert exported["status"] == "Completed", exported
    assert all(r["status"] != "failed" for r in exported["result"]["categories"].values()), exported
    container = ContainerClient.from_connection_string(azurite.connection_string, "e2e-heavy-faults")
    manifest = read_manifest(container, "heavy-export")
    assert exported_images(manifest) == truth_images(before)
    names = [b.name for b in container.list_blobs(name_starts_with="heavy-export/")]
    assert len(names) == len(set(names)) == len(manifest["files"]) + 1

    keep, *targets = [p["id"] for p in before["projects"]]
    submit(host, {"operation": "delete", "requestId": "heavy-delete", "projects": targets, "confirm": "default",
                  "categories": ALL_CATEGORIES})
    deleted = wait_finished(host, "heavy-delete")
    assert deleted["status"] == "Completed", deleted
    assert deleted["result"]["receipt"]["verification"]["clean"] is True
    after = emulator.state()
    assert [p["id"] for p in after["projects"]] == [keep]
    assert after["projects"][0] == before["projects"][0]  # nothing deleted outside the request
    stats = emulator.stats()
    assert stats["faults"] >= 10, stats  # the faults really happened
