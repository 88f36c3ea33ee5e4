"""`python -m emulator --seed synthetic:projects=3,images=700` at the default 10 calls/s: every operation
validates against the spec, and `/_emulator/state` agrees with what the API lists, byte for byte."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

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
    downloads: dict[str, tuple[str, str]] = {}
    for expected in truth["projects"]:
        _check_project(api, expected, downloads)
    # Relative URIs are read through GetArtifact, a rate-limited Training call: a sample of 40 proves the path.
    relative = [image_id for image_id, (_, uri) in downloads.items() if uri.startswith("/")]
    assert len(relative) > 0.1 * len(downloads), "realistic: a share of images has relative URIs"
    checked = {k: v for k, v in downloads.items() if not v[1].startswith("/") or k in relative[:40]}
    with ThreadPoolExecutor(16) as pool:
        hashes = dict(zip(checked, pool.map(lambda args: _sha256(api, *args), checked.values()), strict=True))
    expected_hashes = {i["id"]: i["sha256"] for p in truth["projects"] for i in p["images"] if i["id"] in checked}
    assert hashes == expected_hashes, "every image's bytes (SAS URL or GetArtifact) match the ground truth"
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


def _sha256(api: Api, project_id: str, uri: str) -> str:
    """Hash of the bytes behind a listed URI (a SAS URL, or a relative path read through GetArtifact)."""
    response = api.download(project_id, uri)
    response.raise_for_status()
    return hashlib.sha256(response.content).hexdigest()


def _check_project(api: Any, expected: dict[str, Any], downloads: dict[str, tuple[str, str]]) -> None:
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
        downloads[image["id"]] = (pid, image["originalImageUri"])
    iterations = api.get("GetIterations", p + "/iterations")
    assert [i["id"] for i in iterations] == [i["id"] for i in expected["iterations"]]
    for iteration, expected_iteration in zip(iterations, expected["iterations"], strict=True):
        ip = f"{p}/iterations/{iteration['id']}"
        assert (api.get("GetIteration", ip)["publishName"] or "") == expected_iteration["publishName"]
        api.get("GetIterationPerformance", ip + "/performance")
        api.get("GetImagePerformances", ip + "/performance/images", take=256)
        api.get("GetImagePerformanceCount", ip + "/performance/images/count")
        exports = api.get("GetExports", ip + "/export")
        assert len(exports) == len(expected_iteration["exports"])
        for export, truth in zip(exports, expected_iteration["exports"], strict=True):
            assert _sha256(api, pid, export["downloadUri"]) == truth["sha256"]
        images = api.all_images(pid, iteration["id"])
        assert sorted(i["id"] for i in images) == expected_iteration["imageIds"]
        for image in images:
            held.setdefault(image["id"], set()).add(iteration["id"])
            downloads.setdefault(image["id"], (pid, image["originalImageUri"]))
    asked = sorted(workspace, key=lambda i: i["created"], reverse=True)[:256]
    by_ids = api.get("GetImagesByIds", p + "/images/id", imageIds=",".join(i["id"] for i in asked))
    assert sorted(i["id"] for i in by_ids) == sorted(i["id"] for i in asked)
    assert [i["created"] for i in by_ids] == sorted(i["created"] for i in asked), "oldest first (GetImagesByIds.json)"
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
    assert _sha256(api, pid, predictions[0]["originalImageUri"]) == expected["predictions"][0]["sha256"]
    artifact = predictions[0]["originalImageUri"].split(f"/{pid}/", 1)[1].split("?")[0]
    response = api.call("GetArtifact", "GET", p + "/artifacts", params={"path": artifact})
    assert hashlib.sha256(response.content).hexdigest() == expected["predictions"][0]["sha256"]
