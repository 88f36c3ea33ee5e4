"""Rules the service keeps: paging, limits, auth, SAS links, workspace vs iteration image sets, publishing.

With realism off (stable order within ties, immediate deletes, SAS URLs only), so each rule is checked alone;
test_realism.py checks the real service's traps on the default, realistic emulator."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

SEED = "synthetic:projects=2,images=300"


@pytest.fixture(scope="module")
def server(emulator_factory):  # type: ignore[no-untyped-def]
    return emulator_factory(SEED, tps=0, extra_args=("--realism", "off"))


@pytest.fixture
def fresh(server):  # type: ignore[no-untyped-def]
    """The module's emulator, reset to its seed before the test."""
    server.reset()
    return server


def _project(server: Any, kind: str = "Classification") -> dict[str, Any]:
    return next(p for p in server.state()["projects"] if p["type"] == kind)


def _trained(project: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's Completed iterations (every seeded project also has a Failed one, which holds no images)."""
    failed, *trained = project["iterations"]
    assert failed["status"] == "Failed" and failed["imageIds"] == []
    return trained


def test_take_skip_paging_covers_each_image_once_in_both_orders(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    project = _project(fresh)
    p = f"/projects/{project['id']}"
    workspace = [i["id"] for i in project["images"] if i["inWorkspace"]]
    newest: list[str] = []
    while page := api.get("GetImages", p + "/images", take=37, skip=len(newest)):
        newest += [i["id"] for i in page]
    assert len(newest) == len(set(newest)) == len(workspace) and set(newest) == set(workspace)
    oldest = [i["id"] for skip in range(0, len(workspace), 256)
              for i in api.get("GetImages", p + "/images", orderBy="Oldest", take=256, skip=skip)]  # fmt: skip
    assert oldest == newest[::-1]
    assert len(api.get("GetImages", p + "/images")) == 50, "take defaults to 50"
    assert api.get("GetImages", p + "/images", take=0) == []
    assert api.get("GetImages", p + "/images", skip=len(workspace)) == []
    tagged = api.all_images(project["id"], what="tagged")
    untagged = api.all_images(project["id"], what="untagged")
    assert {i["id"] for i in tagged} | {i["id"] for i in untagged} == set(workspace)
    assert api.get("GetTaggedImageCount", p + "/images/tagged/count") == len(tagged)
    assert api.get("GetUntaggedImageCount", p + "/images/untagged/count") == len(untagged) > 0


def test_limits(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    p = f"/projects/{_project(fresh)['id']}"
    assert len(api.get("GetImages", p + "/images", take=256)) == 256
    for operation, path in (("GetImages", "/images"), ("GetUntaggedImages", "/images/untagged")):
        response = api.call(operation, "GET", p + path, params={"take": 257})
        assert response.status_code == 400 and response.json()["code"] == "BadRequestInvalid"
    ids = [str(uuid.uuid4()) for _ in range(256)]
    assert api.call("GetImagesByIds", "GET", p + "/images/id", params={"imageIds": ",".join(ids)}).json() == []
    assert api.call("DeleteImages", "DELETE", p + "/images", params={"imageIds": ",".join(ids)}).status_code == 204
    too_many = ",".join([*ids, str(uuid.uuid4())])
    response = api.call("DeleteImages", "DELETE", p + "/images", params={"imageIds": too_many})
    assert (response.status_code, response.json()["code"]) == (400, "BadRequestExceededBatchSize")
    response = api.call("DeletePrediction", "DELETE", p + "/predictions", params={"ids": ",".join(ids[:64])})
    assert response.status_code == 204
    response = api.call("DeletePrediction", "DELETE", p + "/predictions", params={"ids": ",".join(ids[:65])})
    assert (response.status_code, response.json()["code"]) == (400, "BadRequestPredictionIdsExceededCount")


def test_auth(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    for headers in ({}, {"Training-Key": "not-the-key"}):
        for version in ("v3.3", "v3.4-preview"):
            response = requests.get(f"{server.endpoint}/customvision/{version}/training/projects", headers=headers)
            assert response.status_code == 401 and response.json()["code"] == "Unauthorized"
        assert requests.get(f"{server.endpoint}/_emulator/state", headers=headers).status_code == 401
    api.session.headers["training-key"] = server.training_key  # header names are case-insensitive
    assert api.get("GetProjects", "/projects")


def test_image_links_are_read_only_sas_with_expiry(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    project = _project(server)
    image = api.get("GetImages", f"/projects/{project['id']}/images", take=1)[0]
    for key in ("originalImageUri", "resizedImageUri", "thumbnailUri"):
        query = parse_qs(urlparse(image[key]).query)
        assert query["sp"] == ["r"] and query["se"] and query["sig"]
    data = requests.get(image["originalImageUri"]).content
    import hashlib

    truth = next(i for i in project["images"] if i["id"] == image["id"])
    assert hashlib.sha256(data).hexdigest() == truth["sha256"] and len(data) == truth["size"]
    write = requests.put(image["originalImageUri"], data=b"x", headers={"x-ms-blob-type": "BlockBlob"})
    assert write.status_code == 403


def test_iterations_keep_their_own_image_sets(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    project = _project(fresh, "ObjectDetection")
    pid, p = project["id"], f"/projects/{project['id']}"
    first, second = _trained(project)
    only_in_iteration = [i for i in project["images"] if not i["inWorkspace"]]
    assert only_in_iteration and all(i["iterations"] == [first["id"]] for i in only_in_iteration)
    listed = {i["id"] for i in api.all_images(pid, first["id"])}
    assert listed == set(first["imageIds"]) and {i["id"] for i in only_in_iteration} <= listed
    workspace = {i["id"] for i in api.all_images(pid)}
    assert not workspace & {i["id"] for i in only_in_iteration}
    by_ids = ",".join(i["id"] for i in only_in_iteration)
    assert api.get("GetImagesByIds", p + "/images/id", imageIds=by_ids) == []
    assert len(api.get("GetImagesByIds", p + "/images/id", imageIds=by_ids, iterationId=first["id"])) == len(
        only_in_iteration
    )
    # Deleting from the workspace leaves the iterations' copies (and their bytes).
    victims = [i for i in project["images"] if i["inWorkspace"] and second["id"] in i["iterations"]][:5]
    ids = ",".join(i["id"] for i in victims)
    kept = api.get("GetImagesByIds", p + "/images/id", imageIds=ids, iterationId=second["id"])
    assert api.call("DeleteImages", "DELETE", p + "/images", params={"imageIds": ids}).status_code == 204
    assert api.get("GetImagesByIds", p + "/images/id", imageIds=ids) == []
    assert len(api.get("GetImagesByIds", p + "/images/id", imageIds=ids, iterationId=second["id"])) == 5
    assert all(requests.get(k["originalImageUri"]).status_code == 200 for k in kept)
    state = {i["id"]: i for i in _project(fresh, "ObjectDetection")["images"]}
    assert all(not state[v["id"]]["inWorkspace"] and state[v["id"]]["iterations"] for v in victims)
    # allIterations=true removes every copy at once (202), and the bytes in the background.
    response = api.call("DeleteImages", "DELETE", p + "/images", params={"imageIds": ids, "allIterations": "true"})
    assert response.status_code == 202
    assert api.get("GetImagesByIds", p + "/images/id", imageIds=ids, iterationId=second["id"]) == []
    deadline = time.monotonic() + 30
    while any(requests.get(k["originalImageUri"]).status_code != 404 for k in kept):
        assert time.monotonic() < deadline, "the deleted images' bytes were never reclaimed"
        time.sleep(0.5)
    remaining = {i["id"] for i in _project(fresh, "ObjectDetection")["images"]}
    assert not remaining & {v["id"] for v in victims}


def test_published_iteration_blocks_deletes_until_unpublished(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    project = _project(fresh)
    p = f"/projects/{project['id']}"
    first, second = _trained(project)
    assert (first["published"], second["published"]) == (False, True)
    for operation, path in (("DeleteIteration", f"{p}/iterations/{second['id']}"), ("DeleteProject", p)):
        response = api.call(operation, "DELETE", path)
        assert (response.status_code, response.json()["code"]) == (400, "BadRequestIterationIsPublished")
    # Deleting the unpublished first iteration drops the images only it held.
    only_first = {i["id"] for i in project["images"] if i["iterations"] == [first["id"]] and not i["inWorkspace"]}
    assert api.call("DeleteIteration", "DELETE", f"{p}/iterations/{first['id']}").status_code == 204
    assert not only_first & {i["id"] for i in _project(fresh)["images"]}
    assert api.call("UnpublishIteration", "DELETE", f"{p}/iterations/{second['id']}/publish").status_code == 204
    assert api.get("GetIteration", f"{p}/iterations/{second['id']}")["publishName"] == ""
    again = api.call("UnpublishIteration", "DELETE", f"{p}/iterations/{second['id']}/publish")
    assert (again.status_code, again.json()["code"]) == (400, "BadRequestIterationNotPublished")
    assert api.call("DeleteProject", "DELETE", p).status_code == 204
    assert project["id"] not in {x["id"] for x in fresh.state()["projects"]}


def test_training_snapshots_the_workspace_and_delete_tag_spares_iterations(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    project = _project(fresh)
    pid, p = project["id"], f"/projects/{project['id']}"
    tag = project["tags"][0]
    assert api.call("DeleteTag", "DELETE", f"{p}/tags/{tag['id']}").status_code == 204
    assert tag["id"] not in {t["id"] for t in api.get("GetTags", p + "/tags")}
    for iteration in _trained(project):
        assert tag["id"] in {t["id"] for t in api.get("GetTags", p + "/tags", iterationId=iteration["id"])}
    assert api.call("GetTag", "GET", f"{p}/tags/{tag['id']}").status_code == 404
    assert api.get("GetTag", f"{p}/tags/{tag['id']}", iterationId=_trained(project)[0]["id"])["imageCount"] > 0
    iteration = api.call("TrainProject", "POST", p + "/train").json()
    assert {i["id"] for i in api.all_images(pid, iteration["id"])} == {i["id"] for i in api.all_images(pid)}
    assert all(tag["id"] not in (t["tagId"] for t in i["tags"] or ()) for i in api.all_images(pid, iteration["id"]))


def test_metadata_filter_and_tag_filter(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    project = _project(server)
    p = f"/projects/{project['id']}"
    workspace = [i for i in project["images"] if i["inWorkspace"]]
    want = {i["id"] for i in workspace if i["metadata"].get("camera") == "cam-1"}
    got = api.get("GetImages", p + "/images", take=256, **{"$filter": "camera eq 'cam-1'"})
    assert want and {i["id"] for i in got} == want
    assert api.get("GetImageCount", p + "/images/count", **{"$filter": "camera eq 'cam-1'"}) == len(want)
    bad = api.call("GetImages", "GET", p + "/images", params={"$filter": "camera equals 1"})
    assert bad.status_code == 400
    tag_id = project["tags"][0]["id"]
    want = {i["id"] for i in workspace if tag_id in i["tagIds"]}
    got = api.get("GetTaggedImages", p + "/images/tagged", take=256, tagIds=tag_id)
    assert {i["id"] for i in got} == want
    assert api.get("GetTaggedImageCount", p + "/images/tagged/count", tagIds=tag_id) == len(want)


def test_prediction_paging_survives_deletes_between_pages(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    project = _project(fresh)
    pid, p = project["id"], f"/projects/{project['id']}"
    expected = [x["id"] for x in project["predictions"]]
    assert len(expected) > 10
    assert [x["id"] for x in api.all_predictions(pid, orderBy="Oldest")] == expected
    seen: list[str] = []
    token: dict[str, Any] = {"maxCount": 4}
    while True:
        body = api.call("QueryPredictions", "POST", p + "/predictions/query", json=token).json()
        ids = [r["id"] for r in body["results"]]
        seen += ids
        if ids:
            assert (
                api.call("DeletePrediction", "DELETE", p + "/predictions", params={"ids": ",".join(ids)}).status_code
                == 204
            )
        token = body["token"]
        assert token["session"]
        if not token["continuation"]:
            break
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert _project(fresh)["predictions"] == []
    assert api.all_predictions(pid) == []


def test_unknown_routes_and_methods_answer_custom_vision_errors(server) -> None:  # type: ignore[no-untyped-def]
    headers = {"Training-Key": server.training_key}
    base = f"{server.endpoint}/customvision/v3.3/training"
    missing = requests.get(base + "/nothing-here", headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "NotFound")
    wrong_method = requests.put(base + "/projects", headers=headers)
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "BadRequest"
    assert wrong_method.headers["Allow"]
