"""What a data subject's request needs from the Training API, answered as the spec describes: `$filter` on image
metadata (eq, ne, and, or, parentheses, quoted strings with doubled quotes) with `iterationId` on GetImages and
GetImageCount, UpdateImageMetadata, and QueryPredictions' `application`; the demo seed's two subjects."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from emulator import odata
from emulator.seed import DEMO_SUBJECTS, INJECTION_VALUE, build


@pytest.fixture(scope="module")
def server(emulator_factory):  # type: ignore[no-untyped-def]
    return emulator_factory("demo", tps=0)


@pytest.fixture
def fresh(server):  # type: ignore[no-untyped-def]
    server.reset()
    return server


def holders(project: dict[str, Any], user: str) -> list[dict[str, Any]]:
    return [i for i in project["images"] if i["metadata"].get("userId") == user]


@pytest.mark.parametrize(("text", "metadata", "matches"), [
    ("userId eq 'u-1'", {"userId": "u-1"}, True),
    ("userId ne 'u-1'", {"userId": "u-1"}, False),
    ("userId ne 'u-1'", {}, True),  # a key an image lacks is "not equal"
    ("userId eq 'u-1' and camera eq 'c'", {"userId": "u-1", "camera": "d"}, False),
    ("userId eq 'u-1' or camera eq 'c'", {"userId": "u-2", "camera": "c"}, True),
    ("(userId eq 'a' or userId eq 'b') and camera eq 'c'", {"userId": "b", "camera": "c"}, True),
    ("userId eq 'a' or userId eq 'b' and camera eq 'c'", {"userId": "a", "camera": "x"}, True),  # and binds first
    ("userId eq 'O''Brien'", {"userId": "O'Brien"}, True),
    ("userId eq 'x'' or userId ne ''x'", {"userId": "y"}, False),  # one literal, not two clauses
    ("userId eq 'x'' or userId ne ''x'", {"userId": "x' or userId ne 'x"}, True),
    ("userId EQ 'u-1'", {"userId": "u-1"}, True),
])
def test_the_filter_grammar(text: str, metadata: dict[str, str], matches: bool) -> None:
    assert odata.parse(text)(metadata) is matches


@pytest.mark.parametrize("text", ["userId eq u-1", "userId eq 'open", "userId = 'a'", "(userId eq 'a'",
                                  "userId eq 'a' or", "eq 'a'", "userId eq 'a' xor b eq 'c'"])
def test_anything_outside_the_grammar_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        odata.parse(text)


def test_filter_with_iteration_id_on_list_and_count(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    for project in fresh.state()["projects"]:
        p = f"/projects/{project['id']}"
        for user in ("u-1001", "u-2002", INJECTION_VALUE):
            where = "userId eq '" + user.replace("'", "''") + "'"
            mine = holders(project, user)
            for iteration in project["iterations"]:
                want = {i["id"] for i in mine if iteration["id"] in i["iterations"]}
                got = api.get("GetImages", p + "/images", take=256, iterationId=iteration["id"], **{"$filter": where})
                assert {i["id"] for i in got} == want
                assert api.get("GetImageCount", p + "/images/count", iterationId=iteration["id"],
                               **{"$filter": where}) == len(want)
            workspace = {i["id"] for i in mine if i["inWorkspace"]}
            assert api.get("GetImageCount", p + "/images/count", **{"$filter": where}) == len(workspace)


def test_update_image_metadata_merges_pairs_on_workspace_images(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    project = fresh.state()["projects"][0]
    p = f"/projects/{project['id']}"
    image = next(i for i in project["images"] if i["inWorkspace"] and not i["metadata"])
    gone = next(i for i in project["images"] if not i["inWorkspace"])
    response = api.call("UpdateImageMetadata", "POST", p + "/images/metadata",
                        params={"imageIds": f"{image['id']},{gone['id']}"}, json={"userId": "u-9"})
    assert response.status_code == 200
    summary = response.json()
    assert summary["isBatchSuccessful"] is False
    assert [(e["imageId"], e["status"]) for e in summary["images"]] == [(image["id"], "OK"),
                                                                        (gone["id"], "ErrorImageNotFound")]
    assert api.get("GetImageCount", p + "/images/count", **{"$filter": "userId eq 'u-9'"}) == 1
    too_long = api.call("UpdateImageMetadata", "POST", p + "/images/metadata", params={"imageIds": image["id"]},
                        json={"k": "v" * 513}).json()
    assert too_long["images"][0]["status"] == "ErrorLimitExceed"
    ids = ",".join(str(uuid.UUID(int=n, version=4)) for n in range(65))
    refused = api.call("UpdateImageMetadata", "POST", p + "/images/metadata", params={"imageIds": ids}, json={})
    assert (refused.status_code, refused.json()["code"]) == (400, "BadRequestExceededBatchSize")


def test_query_predictions_selects_by_application(fresh, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(fresh)
    for project in fresh.state()["projects"]:
        kiosk = [x["id"] for x in project["predictions"] if x["application"] == "kiosk-7"]
        got = api.all_predictions(project["id"], application="kiosk-7", orderBy="Oldest")
        assert [x["id"] for x in got] == kiosk and kiosk
        assert len(api.all_predictions(project["id"])) == len(project["predictions"])


def test_the_demo_seed_holds_two_subjects_as_documented() -> None:
    store, _ = build("demo")
    projects = sorted(store.projects.values(), key=lambda p: p.created)
    for project, subjects in zip(projects, DEMO_SUBJECTS, strict=True):
        everywhere = {**{i.id: i for it in project.iterations.values() for i in it.images.values()},
                      **project.images}
        assert sorted(u for u in (i.metadata.get("userId") for i in everywhere.values()) if u) == sorted(
            u for _, u in subjects)
    pets = projects[0]
    only_iteration = [i for it in pets.iterations.values() for i in it.images.values()
                      if i.metadata.get("userId") == "u-2002" and i.id not in pets.images]
    assert len(only_iteration) == 1
    for project in projects:
        trained = [it for it in project.iterations.values() if it.status == "Completed"]
        assert all(any(i.metadata.get("userId") == "u-1001" for i in it.images.values()) for it in trained)
