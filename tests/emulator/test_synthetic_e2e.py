"""`python -m emulator --seed synthetic:projects=3,images=700` at the default 10 calls/s: every operation
validates against the spec, and `/_emulator/state` agrees with what the API lists, byte for byte."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.emulator.conftest import Api
from tests.emulator.spec import REFERENCE_DIR, SpecValidator
from tests.emulator.walks import REQUIRED, read_project, write_walk

SEED = "synthetic:projects=3,images=700"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(emulator_factory):  # type: ignore[no-untyped-def]
    return emulator_factory(SEED)  # default TPS: the client below honours Retry-After


def test_api_agrees_with_ground_truth(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    truth = server.state()
    assert truth["seed"] == SEED and len(truth["projects"]) == 3
    projects = api.get("GetProjects", "/projects")
    assert [p["id"] for p in projects] == [p["id"] for p in truth["projects"]]
    downloads: dict[str, str] = {}
    for expected in truth["projects"]:
        _check_project(api, expected, downloads)
    with ThreadPoolExecutor(16) as pool:
        hashes = dict(zip(downloads, pool.map(_sha256, downloads.values()), strict=True))
    expected_hashes = {i["id"]: i["sha256"] for p in truth["projects"] for i in p["images"]}
    assert hashes == expected_hashes, "every image's bytes in blob match the ground truth"
    assert server.stats()["calls"] >= 100


def test_every_operation_validates_against_the_spec(server) -> None:  # type: ignore[no-untyped-def]
    """Runs after the read-only test above: reads, then writes (which delete a project), all spec-checked."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"the official spec folder {REFERENCE_DIR} is absent")
    validator = SpecValidator.load()
    api = Api(server, validator, version="v3.4-preview")
    for project in api.get("GetProjects", "/projects")[:2]:  # one of each kind; the test above lists them all
        read_project(api, project["id"])
    write_walk(Api(server, validator), server)
    succeeded = {op for op, statuses in validator.validated.items() if any(200 <= s < 300 for s in statuses)}
    assert REQUIRED - succeeded == set()


def _sha256(url: str) -> str:
    response = requests.get(url, timeout=60)
    response.raise_for_status()
    return hashlib.sha256(response.content).hexdigest()


def _check_project(api: Any, expected: dict[str, Any], downloads: dict[str, str]) -> None:
    pid, p = expected["id"], f"/projects/{expected['id']}"
    assert len(expected["images"]) == 700
    api.get("GetProject", p)
    assert api.get("ExportProject", p + "/export")["iterationCount"] == len(expected["iterations"])
    tags = api.get("GetTags", p + "/tags")
    assert [t["id"] for t in tags] == [t["id"] for t in expected["tags"]]
    api.get("GetTag", f"{p}/tags/{tags[0]['id']}")
    workspace = api.all_images(pid)
    tagged, untagged = api.all_images(pid, what="tagged"), api.all_images(pid, what="untagged")
    assert {i["id"] for i in workspace} == {i["id"] for i in tagged} | {i["id"] for i in untagged}
    assert api.get("GetImageCount", p + "/images/count") == len(workspace)
    assert api.get("GetTaggedImageCount", p + "/images/tagged/count") == len(tagged)
    assert api.get("GetUntaggedImageCount", p + "/images/untagged/count") == len(untagged)
    held: dict[str, set[str]] = {i["id"]: set() for i in workspace}
    for image in workspace:
        downloads[image["id"]] = image["originalImageUri"]
    iterations = api.get("GetIterations", p + "/iterations")
    assert [i["id"] for i in iterations] == [i["id"] for i in expected["iterations"]]
    for iteration, expected_iteration in zip(iterations, expected["iterations"], strict=True):
        ip = f"{p}/iterations/{iteration['id']}"
        assert api.get("GetIteration", ip)["publishName"] == expected_iteration["publishName"]
        api.get("GetIterationPerformance", ip + "/performance")
        api.get("GetImagePerformances", ip + "/performance/images", take=256)
        api.get("GetImagePerformanceCount", ip + "/performance/images/count")
        exports = api.get("GetExports", ip + "/export")
        assert len(exports) == len(expected_iteration["exports"])
        for export, truth in zip(exports, expected_iteration["exports"], strict=True):
            assert _sha256(export["downloadUri"]) == truth["sha256"]
        images = api.all_images(pid, iteration["id"])
        assert sorted(i["id"] for i in images) == expected_iteration["imageIds"]
        for image in images:
            held.setdefault(image["id"], set()).add(iteration["id"])
            downloads.setdefault(image["id"], image["originalImageUri"])
    by_ids = api.get("GetImagesByIds", p + "/images/id", imageIds=",".join(i["id"] for i in workspace[:256]))
    assert [i["id"] for i in by_ids] == [i["id"] for i in workspace[:256]]
    in_workspace = {i["id"] for i in workspace}
    listed = {
        image_id: {"inWorkspace": image_id in in_workspace, "iterations": sorted(iterations_)}
        for image_id, iterations_ in held.items()
    }
    truth = {
        i["id"]: {"inWorkspace": i["inWorkspace"], "iterations": sorted(i["iterations"])} for i in expected["images"]
    }
    assert listed == truth, "every image, workspace or iteration-only, and exactly where it lives"
    predictions = api.all_predictions(pid, orderBy="Oldest")
    assert [x["id"] for x in predictions] == [x["id"] for x in expected["predictions"]]
    assert _sha256(predictions[0]["originalImageUri"]) == expected["predictions"][0]["sha256"]
    artifact = predictions[0]["originalImageUri"].split(f"/{pid}/", 1)[1].split("?")[0]
    response = api.call("GetArtifact", "GET", p + "/artifacts", params={"path": artifact})
    assert hashlib.sha256(response.content).hexdigest() == expected["predictions"][0]["sha256"]
