"""Export end to end: devhost serving the app, the emulator, Azurite; checked against the emulator's ground truth."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from dsr.layout import scratch_container
from localrun.azurite import Azurite
from localrun.emulator import Emulator
from tests.e2e.helpers import (
    ALL_CATEGORIES,
    TRAINING_KEY,
    all_histories,
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
# Two demo projects and three of 700 images, on the realistic emulator (its default: docs/real-service.md):
# every synthetic project lists over several pages (256) and copies in two image chunks (512), and the projects
# fan out in parallel, at the real 10 calls/s.
SEED = "demo+synthetic:projects=3,images=700"
# Under faults one large project shows the same (pages, chunks, retries) at a third of the calls.
FAULTS_SEED = "demo+synthetic:projects=1,images=700"
PAGE = 256


def export_everything(host: Any, request_id: str) -> dict[str, Any]:
    submit(host, {"operation": "export", "requestId": request_id})
    status = wait_finished(host, request_id)
    assert status["status"] == "Completed", status
    return status


def check_the_seed_is_realistic(state: dict[str, Any]) -> None:
    """At least 10% relative URIs, ties in `created` across page boundaries, originals larger than listed."""
    images = [i for p in state["projects"] for i in p["images"]]
    assert sum(i["uriForm"] != "absolute" for i in images) >= 0.1 * len(images)
    assert sum((i["width"], i["height"]) != (i["resizedWidth"], i["resizedHeight"]) for i in images) > 0.3 * len(images)
    straddling = 0
    for project in state["projects"]:
        created = sorted(i["created"] for i in project["images"] if i["inWorkspace"])
        straddling += sum(created[n - 1] == created[n] for n in range(PAGE, len(created), PAGE))
    assert straddling >= 2, "ties straddle page boundaries"


def check_export_matches(
    container: ContainerClient, emulator: Emulator, request_id: str, *, at_least: int
) -> dict[str, Any]:
    """Byte-exact originals, one for one; images.jsonl and COCO at the original's pixel size."""
    manifest = read_manifest(container, request_id)
    state = emulator.state()
    truth = truth_images(state)
    assert len(truth) > at_least  # the seed is as large as the test means it to be
    assert exported_images(manifest) == truth  # one for one, by sha256, iteration-only images included
    for project in state["projects"]:
        by_id = {i["id"]: i for i in project["images"]}
        prefix = f"{request_id}/projects/{project['id']}"
        lines = [json.loads(line) for line in container.download_blob(f"{prefix}/images.jsonl").readall().splitlines()]
        assert Counter(line["id"] for line in lines) == Counter(list(by_id)), "each image exactly once"
        for line in lines:
            image = by_id[line["id"]]
            assert (line["width"], line["height"]) == (image["width"], image["height"]), "the original's size"
            assert (line["resizedWidth"], line["resizedHeight"]) == (image["resizedWidth"], image["resizedHeight"])
            assert not line["created"].endswith("Z"), "the service's own text"
        if project["type"] != "ObjectDetection":
            continue
        coco = json.loads(container.download_blob(f"{prefix}/annotations.coco.json").readall())
        images = {i["id"]: by_id[i["customVisionImageId"]] for i in coco["images"]}
        regions = {r["id"]: (r, i) for i in by_id.values() for r in i["regions"]}
        assert len(coco["annotations"]) == len(regions) > 0
        for annotation in coco["annotations"]:
            region, image = regions[annotation["customVisionRegionId"]]
            assert images[annotation["image_id"]] is image
            expected = [region["left"] * image["width"], region["top"] * image["height"],
                        region["width"] * image["width"], region["height"] * image["height"]]
            assert annotation["bbox"] == [round(v, 2) for v in expected], "boxes at the original's scale"
    return manifest


def test_export_matches_ground_truth_and_leaks_no_secret(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    emulator = emulator_factory(SEED, training_key=TRAINING_KEY)
    check_the_seed_is_realistic(emulator.state())
    host = start_app(devhost_factory, emulator, azurite, "e2e-export")
    status = export_everything(host, "export-full")
    result = status["result"]
    assert {name: r["status"] for name, r in result["categories"].items()} == {
        **{name: "complete" for name in ALL_CATEGORIES}, "account": "skipped"}
    assert status["progress"]["images"]["done"] == status["progress"]["images"]["total"] == 5

    container = ContainerClient.from_connection_string(azurite.connection_string, "e2e-export")
    manifest = check_export_matches(container, emulator, "export-full", at_least=2100)
    assert manifest["schemaVersion"] and manifest["resource"] == "default"
    assert manifest["startedAt"] <= manifest["completedAt"]
    assert manifest["categories"]["account"]["error"]["code"] == "NoArmResourceId"

    # Every file listed exists with that size and hash; nothing unlisted but the manifest; no scratch left.
    listed = {f["path"]: f for f in manifest["files"]}
    blobs = {b.name[len("export-full/"):]: b.size for b in container.list_blobs(name_starts_with="export-full/")}
    assert set(blobs) == set(listed) | {"manifest.json"}

    def read(path: str) -> bytes:
        return container.download_blob(f"export-full/{path}").readall()

    leaks = []
    with ThreadPoolExecutor(8) as pool:  # 2,200 downloads: overlapped, each still checked in full
        for (path, record), data in zip(listed.items(), pool.map(read, listed), strict=True):
            assert (len(data), hashlib.sha256(data).hexdigest()) == (record["size"], record["sha256"]), path
            if TRAINING_KEY.encode() in data or b"sig=" in data:
                leaks.append(path)
    assert leaks == []
    assert not list(container.list_blobs(name_starts_with=".work/export-full/"))
    scratch = ContainerClient.from_connection_string(azurite.connection_string,
                                                     scratch_container("e2e-export", "export-full"))
    assert not scratch.exists()  # the parts' own container, deleted in one call
    for project in emulator.state()["projects"]:
        assert f"projects/{project['id']}/images.jsonl" in listed
        assert f"projects/{project['id']}/predictions.jsonl" in listed
    assert emulator.stats()["byOperation"]["GetArtifact"] >= 0.1 * len(truth_images(emulator.state()))

    # No training key in the orchestration history, status payloads or devhost's log.
    assert TRAINING_KEY not in all_histories(host)
    assert TRAINING_KEY not in str(status)
    assert TRAINING_KEY not in host.log_path.read_text()


def test_export_survives_faults(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    emulator = emulator_factory(FAULTS_SEED, training_key=TRAINING_KEY, fault_rate=0.1, fault_seed=7)
    host = start_app(devhost_factory, emulator, azurite, "e2e-export-faults")
    status = export_everything(host, "export-faults")
    assert all(r["status"] != "failed" for r in status["result"]["categories"].values()), status
    container = ContainerClient.from_connection_string(azurite.connection_string, "e2e-export-faults")
    check_export_matches(container, emulator, "export-faults", at_least=700)
    assert emulator.stats()["faults"] > 0


def test_failed_category_is_reported_and_the_others_complete(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite
) -> None:
    emulator = emulator_factory("demo", training_key=TRAINING_KEY)
    victim = emulator.state()["projects"][0]["id"]
    emulator.set_faults(deny=[{"projectId": victim, "operation": "QueryPredictions", "status": 403}])
    host = start_app(devhost_factory, emulator, azurite, "e2e-export-deny")
    submit(host, {"operation": "export", "requestId": "export-deny"})
    status = wait_finished(host, "export-deny")
    assert status["status"] == "Completed"
    categories = status["result"]["categories"]
    assert categories["predictions"]["status"] == "failed"
    assert "403" in categories["predictions"]["error"]["message"]
    for name in ALL_CATEGORIES:
        if name not in ("predictions", "account"):
            assert categories[name]["status"] == "complete", name
    container = ContainerClient.from_connection_string(azurite.connection_string, "e2e-export-deny")
    manifest = read_manifest(container, "export-deny")
    assert manifest["categories"]["predictions"]["status"] == "failed"
    assert manifest["categories"]["predictions"]["error"]["message"]
