"""The default emulator answers as the real service does: every fact of recorded_facts.py, each test naming its source.

These are the traps the product must survive; the product's own tests (tests/dsr, tests/e2e) run against them.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from PIL import Image as PilImage

from tests.emulator import recorded_facts as facts

SEED = "synthetic:projects=2,images=600"


@pytest.fixture(scope="module")
def server(emulator_factory):  # type: ignore[no-untyped-def]
    """Realistic (the default), unthrottled so the walks are quick; an 8 s delete lag leaves room to look."""
    return emulator_factory(SEED, tps=0, extra_args=("--delete-lag-seconds", "8"))


@pytest.fixture
def restored(server):  # type: ignore[no-untyped-def]
    """The module's emulator, reset to its seed after a test that deletes."""
    yield server
    server.reset()


def _project(server: Any, kind: str) -> dict[str, Any]:
    return next(p for p in server.state()["projects"] if p["type"] == kind)


def _pixels(data: bytes) -> tuple[int, int]:
    with PilImage.open(io.BytesIO(data)) as img:
        return img.size


def test_relative_uris_mixed_with_sas_urls_and_read_through_get_artifact(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    project = _project(server, "Classification")
    pid, truth = project["id"], {i["id"]: i for i in project["images"]}
    page = api.get("GetImages", f"/projects/{pid}/images", take=256)
    forms = Counter(
        "relative" if facts.RELATIVE_URI.match(i["resizedImageUri"]) else
        "originalRelative" if facts.RELATIVE_URI.match(i["originalImageUri"]) else "absolute"
        for i in page
    )  # fmt: skip
    assert forms["relative"] and forms["originalRelative"] and forms["absolute"], (facts.RELATIVE_URIS.source, forms)
    for image in page:
        assert truth[image["id"]]["uriForm"] == ("relative" if facts.RELATIVE_URI.match(image["resizedImageUri"]) else
                                                 "originalRelative" if image["originalImageUri"].startswith("/")
                                                 else "absolute")  # fmt: skip
    relative = [i for i in page if i["originalImageUri"].startswith("/")][:10]
    for image in relative:
        hexes = (pid.replace("-", ""), image["id"].replace("-", ""))
        assert image["originalImageUri"] in (f"/i-{hexes[0]}/i-{hexes[1]}", f"/i-{hexes[0]}/o-{hexes[1]}")
        response = api.download(pid, image["originalImageUri"])  # GetArtifact?path=/i-…/o-… (percent-encoded)
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/octet-stream"
        assert hashlib.sha256(response.content).hexdigest() == truth[image["id"]]["sha256"], "byte-exact original"
    other = _project(server, "ObjectDetection")["id"]
    path = relative[0]["originalImageUri"]
    foreign = api.call("GetArtifact", "GET", f"/projects/{other}/artifacts", params={"path": path})
    assert foreign.status_code == 404, "an artifact path names its project's container"
    assert server.stats()["byOperation"]["GetArtifact"] >= len(relative), "GetArtifact is a counted Training call"


def test_listed_size_is_the_resized_copy_and_the_original_is_kept_apart(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    project = _project(server, "ObjectDetection")
    pid, truth = project["id"], {i["id"]: i for i in project["images"]}
    page = [i for i in api.get("GetImages", f"/projects/{pid}/images", take=60) if i["originalImageUri"][0] != "/"]
    larger = [i for i in page if (truth[i["id"]]["width"], truth[i["id"]]["height"]) != (i["width"], i["height"])]
    assert larger and len(larger) < len(page), facts.LISTED_SIZES.source
    for image in page:
        short, long = sorted((image["width"], image["height"]))
        assert short <= facts.SHORT_SIDE and long <= facts.LONG_SIDE, facts.LISTED_SIZES.says
        original = api.download(pid, image["originalImageUri"]).content
        expected = truth[image["id"]]
        assert _pixels(original) == (expected["width"], expected["height"]), "the state gives the original's size"
        assert max(expected["width"], expected["height"]) >= 300, "photo-sized originals"
        if image in larger:
            assert image["originalImageUri"].split("?")[0] != image["resizedImageUri"].split("?")[0]
            assert "/o-" in image["originalImageUri"] and "/i-" in image["resizedImageUri"], facts.ORIGINALS_APART.says
            assert _pixels(api.download(pid, image["resizedImageUri"]).content) == (image["width"], image["height"])
        else:
            assert image["originalImageUri"] == image["resizedImageUri"], "fits the box: one blob, as recorded"


def test_batches_share_created_and_ties_reorder_between_calls(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    project = _project(server, "Classification")
    pid = project["id"]
    workspace = [i for i in project["images"] if i["inWorkspace"]]
    ties = Counter(i["created"] for i in workspace)
    assert max(ties.values()) >= 4, facts.TIES.says
    listings = [api.get("GetImages", f"/projects/{pid}/images", take=256, orderBy="Oldest") for _ in range(6)]
    assert len({tuple(i["id"] for i in x) for x in listings}) > 1, "the order within ties changes from call to call"
    assert len({tuple(i["created"] for i in x) for x in listings}) == 1, "positions hold the same `created`"
    # Plain take/skip paging across ties straddling page boundaries loses or repeats images sooner or later.
    expected = {i["id"] for i in workspace}
    for _ in range(10):
        naive: list[str] = []
        while page := api.get("GetImages", f"/projects/{pid}/images", take=50, skip=len(naive), orderBy="Oldest"):
            naive += [i["id"] for i in page]
        if len(set(naive)) != len(expected):
            break
    else:
        pytest.fail("ten naive pagings all came out whole: ties never straddled a page boundary")
    assert len(naive) == len(expected), "positions are stable; which image sits where within a tie is not"


def test_202_delete_leaves_images_listed_and_counted_for_a_while(restored, api_for) -> None:  # type: ignore[no-untyped-def]
    server = restored
    api = api_for(server)
    project = _project(server, "Classification")
    p = f"/projects/{project['id']}"
    count = api.get("GetImageCount", p + "/images/count")
    victims = [i["id"] for i in api.get("GetImages", p + "/images", take=20)]
    single = victims.pop()
    assert api.call("DeleteImages", "DELETE", p + "/images", params={"imageIds": single}).status_code == 204
    assert api.get("GetImageCount", p + "/images/count") == count - 1, "by ids alone: 204, gone at once"
    response = api.call("DeleteImages", "DELETE", p + "/images",
                        params={"imageIds": ",".join(victims), "allIterations": "true"})  # fmt: skip
    assert response.status_code == 202, facts.ASYNC_DELETE.source
    assert api.get("GetImageCount", p + "/images/count") == count - 1, "still counted after the 202"
    assert len(api.get("GetImagesByIds", p + "/images/id", imageIds=",".join(victims))) == len(victims)
    assert _project(server, "Classification")["pendingDeletes"] == len(victims)
    deadline = time.monotonic() + 60
    while api.get("GetImageCount", p + "/images/count") != count - 1 - len(victims):
        assert time.monotonic() < deadline, "the 202 delete never took effect"
        time.sleep(0.5)
    assert not {i["id"] for i in _project(server, "Classification")["images"]} & set(victims)
    assert _project(server, "Classification")["pendingDeletes"] == 0


def test_deleting_what_is_gone_meets_a_generic_not_found(restored, api_for) -> None:  # type: ignore[no-untyped-def]
    server = restored
    api = api_for(server)
    project = _project(server, "ObjectDetection")
    p = f"/projects/{project['id']}"
    failed = project["iterations"][0]
    assert failed["status"] == "Failed" and not failed["published"]
    assert api.call("DeleteIteration", "DELETE", f"{p}/iterations/{failed['id']}").status_code == 204
    again = api.call("DeleteIteration", "DELETE", f"{p}/iterations/{failed['id']}")
    assert (again.status_code, again.json()["code"]) == (404, "NotFound"), facts.GENERIC_NOT_FOUND.source
    for iteration in project["iterations"]:
        if iteration["published"]:
            api.call("UnpublishIteration", "DELETE", f"{p}/iterations/{iteration['id']}/publish")
    assert api.call("DeleteProject", "DELETE", p).status_code == 204
    again = api.call("DeleteProject", "DELETE", p)
    assert (again.status_code, again.json()["code"]) == (404, "NotFound")
    looked_up = api.call("GetProject", "GET", p)
    assert (looked_up.status_code, looked_up.json()["code"]) == (404, "NotFoundProject"), "reads keep their codes"


def test_images_by_ids_answers_oldest_first_and_refuses_unknown_ids(server, emulator_factory, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    project = _project(server, "Classification")
    p = f"/projects/{project['id']}"
    newest = api.get("GetImages", p + "/images", take=30)  # newest first
    answered = api.get("GetImagesByIds", p + "/images/id", imageIds=",".join(i["id"] for i in newest))
    assert [i["created"] for i in answered] == sorted(i["created"] for i in newest), facts.IMAGES_BY_IDS.source
    only_in_iteration = next(i["id"] for i in project["images"] if not i["inWorkspace"])
    refused = api.call("GetImagesByIds", "GET", p + "/images/id",
                       params={"imageIds": f"{newest[0]['id']},{only_in_iteration}"})  # fmt: skip
    assert (refused.status_code, refused.json()["code"]) == (400, "BadRequestInvalidIds")
    dropping = emulator_factory("synthetic:projects=1,images=20", tps=0, extra_args=("--unknown-image-ids", "drop"))
    other = api_for(dropping)
    truth = dropping.state()["projects"][0]
    p = f"/projects/{truth['id']}"
    kept = next(i["id"] for i in truth["images"] if i["inWorkspace"])
    gone = next(i["id"] for i in truth["images"] if not i["inWorkspace"])
    assert [i["id"] for i in other.get("GetImagesByIds", p + "/images/id", imageIds=f"{kept},{gone}")] == [kept]


def test_times_nulls_and_left_out_fields_are_the_services(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    p = f"/projects/{_project(server, 'ObjectDetection')['id']}"
    images = api.get("GetImages", p + "/images", take=256)
    for image in images:
        assert facts.IMAGE_TIME.match(image["created"]), (facts.IMAGE_TIMES.source, image["created"])
        for item in [*image.get("tags", []), *image.get("regions", [])]:
            assert facts.IMAGE_TIME.match(item["created"]), item["created"]
        for key in ("tags", "regions", "metadata"):
            assert key not in image or image[key], (facts.EMPTY_LEFT_OUT.source, key)
    assert any(len(facts.IMAGE_TIME.match(i["created"]).group(1) or "") == 8 for i in images), "7 digits"
    assert any("regions" not in i for i in images) and any("metadata" not in i for i in images)
    assert facts.ZONED_TIME.match(api.get("GetProject", p)["created"]), facts.ZONED_TIMES.source
    iterations = api.get("GetIterations", p + "/iterations")
    assert {i["status"] for i in iterations} <= set(facts.ITERATION_STATUSES)
    for iteration in iterations:
        assert facts.ZONED_TIME.match(iteration["lastModified"]), iteration["lastModified"]
        if not iteration["publishName"]:
            assert iteration["publishName"] is None and iteration["originalPublishResourceId"] is None
        if iteration["status"] != "Completed":
            assert "trainedAt" not in iteration and iteration["exportableTo"] is None, facts.UNPUBLISHED.source
    body = api.call("QueryPredictions", "POST", p + "/predictions/query", json={"maxCount": 100}).json()
    token = body["token"]
    assert facts.SESSION.match(token["session"]), facts.PREDICTION_TOKEN.source
    assert (token["continuation"], token["tags"], token["application"], token["iterationId"]) == (None,) * 4
    assert all(facts.PREDICTION_TIME.match(r["created"]) for r in body["results"]), facts.ZONED_TIMES.says
    classification = _project(server, "Classification")["id"]
    body = api.call("QueryPredictions", "POST", f"/projects/{classification}/predictions/query", json={}).json()
    assert body["results"] and all("boundingBox" not in x for r in body["results"] for x in r["predictions"])


def test_prediction_page_size_can_be_refused(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    p = f"/projects/{_project(server, 'Classification')['id']}"
    refused = api.call("QueryPredictions", "POST", p + "/predictions/query", json={"maxCount": 256})
    assert (refused.status_code, refused.json()["code"]) == (400, "BadRequestPredictionResultsExceededCount")
    assert api.call("QueryPredictions", "POST", p + "/predictions/query", json={"maxCount": 128}).status_code == 200


def test_sas_links_live_24_hours(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    p = f"/projects/{_project(server, 'Classification')['id']}"
    image = next(i for i in api.get("GetImages", p + "/images", take=50) if not i["originalImageUri"].startswith("/"))
    expiry = datetime.fromisoformat(parse_qs(urlparse(image["originalImageUri"]).query)["se"][0].replace("Z", "+00:00"))
    lifetime = expiry - datetime.now(UTC)
    assert timedelta(hours=facts.SAS_HOURS) - timedelta(minutes=10) < lifetime, facts.SAS_LIFETIME.source
    assert lifetime < timedelta(hours=facts.SAS_HOURS) + timedelta(minutes=10)


def test_realism_off_is_the_simple_service_for_unit_tests(emulator_factory, api_for) -> None:  # type: ignore[no-untyped-def]
    server = emulator_factory("synthetic:projects=1,images=300", tps=0, extra_args=("--realism", "off"))
    api = api_for(server)
    p = f"/projects/{server.state()['projects'][0]['id']}"
    first = api.get("GetImages", p + "/images", take=256, orderBy="Oldest")
    assert all(i["originalImageUri"].startswith("http") and i["created"].endswith("Z") for i in first)
    again = api.get("GetImages", p + "/images", take=256, orderBy="Oldest")
    assert [i["id"] for i in again] == [i["id"] for i in first], "ties in a stable order"
    ids = ",".join(i["id"] for i in first[:5])
    deleted = api.call("DeleteImages", "DELETE", p + "/images", params={"imageIds": ids, "allIterations": "true"})
    assert deleted.status_code == 202
    assert api.get("GetImagesByIds", p + "/images/id", imageIds=ids) == [], "gone at once"
