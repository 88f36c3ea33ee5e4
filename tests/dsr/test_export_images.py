"""The images category against the realistic emulator (docs/real-service.md) and Azurite, run chunk by chunk as the
orchestrator runs it; checked against the emulator's ground truth (`/_emulator/state`).

The default emulator gives relative URIs (GetArtifact) mixed with SAS URLs, photo-sized originals apart from the
resized copies the listings describe, batches sharing one `created` reordered on every call (ties straddle
pages), and GetImagesByIds refusing ids the workspace lacks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from customvision import TrainingClient
from dsr import layout
from dsr.export.copier import Copier
from dsr.export.images import export_image_chunk, finalize_images, plan_image_sets
from dsr.sink import ExportSink
from localrun.azurite import Azurite
from localrun.emulator import Emulator

pytestmark = pytest.mark.slow
SEED = "synthetic:projects=2,images=700"  # > 256 per set: chunks of several pages, ties across their boundaries

MS = timedelta(milliseconds=1)  # the ground truth's times have milliseconds
Run = Callable[..., tuple[dict[str, Any], ExportSink, list[dict[str, Any]]]]


@pytest.fixture(scope="module")
def server(emulator_factory: Callable[..., Emulator]) -> Emulator:
    return emulator_factory(SEED, tps=0)  # realistic, as every emulator is by default


@pytest.fixture(scope="module")
def container(azurite: Azurite) -> ContainerClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        f"images-{uuid.uuid4().hex[:12]}")


def export_images(server: Emulator, container: ContainerClient) -> Run:
    """Plan, every chunk (but `skip`), finalize; returns (result, sink, images.jsonl lines)."""

    def run(project_id: str, *, skip: tuple[tuple[str, int], ...] = ()) -> Any:
        request_id = f"req-{uuid.uuid4().hex[:8]}"
        sink = ExportSink(container, request_id)
        work = ExportSink(container, layout.work_prefix(request_id))
        with TrainingClient(server.endpoint, server.training_key, retry_backoff_factor=0.01) as client:
            sets = plan_image_sets(client, project_id)
            for image_set in sets:
                for chunk in range(image_set["chunks"]):
                    if (image_set["key"], chunk) not in skip:
                        export_image_chunk(client, Copier(sink), work, project_id, image_set, chunk)
            result = finalize_images(client, sink, work, project_id, sets)
        lines = list(sink.read_lines(layout.project_file(project_id, layout.IMAGES_JSONL)))
        return result, sink, lines

    return run


@pytest.fixture
def run(server: Emulator, container: ContainerClient) -> Iterator[Run]:
    yield export_images(server, container)
    server.set_faults(deny=[])


def _truth(server: Emulator, kind: str) -> dict[str, Any]:
    return next(p for p in server.state()["projects"] if p["type"] == kind)


def _file_sha(sink: ExportSink, line: dict[str, Any]) -> str:
    return sink.hash_blob(line["file"]["path"])[1]


@pytest.mark.parametrize("kind", ["Classification", "ObjectDetection"])
def test_every_image_once_byte_exact_whatever_its_uri_and_its_tie(run: Run, server: Emulator, kind: str) -> None:
    truth = _truth(server, kind)
    images = {i["id"]: i for i in truth["images"]}
    assert sum(i["uriForm"] != "absolute" for i in images.values()) >= 0.1 * len(images), "a realistic seed"
    result, sink, lines = run(truth["id"])
    assert result["status"] == "complete", result
    assert [line["id"] for line in lines].count(lines[0]["id"]) == 1
    assert sorted(line["id"] for line in lines) == sorted(images), "each image exactly once, none missing"
    assert result["count"] == len(images)
    for line in lines:
        expected = images[line["id"]]
        assert line["file"]["sha256"] == expected["sha256"] and line["file"]["size"] == expected["size"], line["id"]
        assert line["inWorkspace"] == expected["inWorkspace"] and line["iterations"] == expected["iterations"]
    sample = [line for line in lines if images[line["id"]]["uriForm"] != "absolute"][:15]
    assert all(_file_sha(sink, line) == line["file"]["sha256"] for line in sample), "relative URIs: the real bytes"


def test_images_get_the_originals_pixel_size_and_coco_boxes_its_scale(run: Run, server: Emulator) -> None:
    truth = _truth(server, "ObjectDetection")
    images = {i["id"]: i for i in truth["images"]}
    assert any((i["width"], i["height"]) != (i["resizedWidth"], i["resizedHeight"]) for i in images.values())
    result, sink, lines = run(truth["id"])
    assert result["status"] == "complete", result
    for line in lines:
        expected = images[line["id"]]
        assert (line["width"], line["height"]) == (expected["width"], expected["height"]), "the exported original's"
        assert (line["resizedWidth"], line["resizedHeight"]) == (expected["resizedWidth"], expected["resizedHeight"])
        listed = datetime.fromisoformat(line["created"]).replace(tzinfo=UTC)  # the service's text: no zone
        assert not line["created"].endswith("Z") and abs(listed - datetime.fromisoformat(expected["created"])) < MS
    coco = json.loads(sink.blob(layout.project_file(truth["id"], layout.COCO_JSON)).download_blob().readall())
    numbers = {image["customVisionImageId"]: image for image in coco["images"]}
    boxes = 0
    for annotation in coco["annotations"]:
        image = next(i for i in coco["images"] if i["id"] == annotation["image_id"])
        expected = images[image["customVisionImageId"]]
        assert (image["width"], image["height"]) == (expected["width"], expected["height"])
        region = next(r for r in expected["regions"] if r["id"] == annotation["customVisionRegionId"])
        scaled = [region["left"] * expected["width"], region["top"] * expected["height"],
                  region["width"] * expected["width"], region["height"] * expected["height"]]
        assert annotation["bbox"] == [round(v, 2) for v in scaled]
        boxes += 1
    assert boxes == sum(len(i["regions"]) for i in images.values()) > 100
    assert set(numbers) == set(images)


def test_a_failing_image_takes_no_sibling_with_it_and_is_reported(run: Run, server: Emulator) -> None:
    truth = _truth(server, "Classification")
    server.set_faults(deny=[{"projectId": truth["id"], "operation": "GetArtifact", "status": 403}])
    relative = {i["id"] for i in truth["images"] if i["uriForm"] != "absolute"}
    result, _, lines = run(truth["id"])  # no chunk raises
    assert result["status"] == "failed"
    assert result["error"]["code"] == "ImageFilesMissing" and str(len(relative)) in result["error"]["message"]
    assert sorted(line["id"] for line in lines) == sorted(i["id"] for i in truth["images"]), "every image listed"
    for line in lines:
        if line["id"] in relative:
            assert line["file"] is None and line["exportError"]["code"], line
        else:
            assert line["file"]["sha256"] == next(i["sha256"] for i in truth["images"] if i["id"] == line["id"])


def test_a_set_is_complete_only_when_its_count_is_reached(run: Run, server: Emulator) -> None:
    """A chunk that never ran (its activity failed for good) leaves images out: finalize lists the set again."""
    truth = _truth(server, "ObjectDetection")
    result, _, lines = run(truth["id"], skip=(("workspace", 0),))
    assert result["status"] == "complete", result
    assert sorted(line["id"] for line in lines) == sorted(i["id"] for i in truth["images"])


def test_images_by_ids_dropping_unknown_ids_works_too(emulator_factory: Callable[..., Emulator],
                                                      container: ContainerClient) -> None:
    server = emulator_factory("synthetic:projects=1,images=300", tps=0, extra_args=("--unknown-image-ids", "drop"))
    truth = server.state()["projects"][0]
    result, _, lines = export_images(server, container)(truth["id"])
    assert result["status"] == "complete", result
    assert {line["id"]: line["file"]["sha256"] for line in lines} == {i["id"]: i["sha256"] for i in truth["images"]}


def test_every_iteration_is_planned_whatever_its_status(server: Emulator) -> None:
    truth = _truth(server, "Classification")
    with TrainingClient(server.endpoint, server.training_key) as client:
        sets = plan_image_sets(client, truth["id"])
    failed = next(it for it in truth["iterations"] if it["status"] == "Failed")
    assert [s["iterationId"] for s in sets] == [None, *(it["id"] for it in truth["iterations"])]
    assert next(s for s in sets if s["iterationId"] == failed["id"])["count"] == 0
