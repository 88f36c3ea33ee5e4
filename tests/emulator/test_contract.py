"""Every operation the data categories need answers as the official v3.3 spec says (bodies, statuses, errors)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.spec import SpecValidator
from tests.emulator.walks import NOWHERE, REQUIRED, ids, read_project, write_walk


@pytest.fixture(scope="module", params=["demo", "synthetic:projects=2,images=40"])
def server(request: pytest.FixtureRequest, emulator_factory):  # type: ignore[no-untyped-def]
    """A fresh, unthrottled emulator per seed (these tests change data)."""
    return emulator_factory(request.param, tps=0)


def test_read_operations_match_spec(server, api_for) -> None:  # type: ignore[no-untyped-def]
    for version in ("v3.3", "v3.4-preview"):
        api = api_for(server, version)
        projects = api.get("GetProjects", "/projects")
        assert {p["id"] for p in projects} == {p["id"] for p in server.state()["projects"]}
        for project in projects:
            read_project(api, project["id"])


def test_error_answers_match_spec(server, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(server)
    pid = server.state()["projects"][0]["id"]
    p = f"/projects/{pid}"
    cases: list[tuple[str, str, str, dict[str, Any], int, str]] = [
        ("GetProject", "GET", f"/projects/{NOWHERE}", {}, 404, "NotFoundProject"),
        ("GetIteration", "GET", f"{p}/iterations/{NOWHERE}", {}, 404, "NotFoundIteration"),
        ("GetTag", "GET", f"{p}/tags/{NOWHERE}", {}, 404, "NotFoundTag"),
        ("GetImages", "GET", p + "/images", {"params": {"iterationId": NOWHERE}}, 404, "NotFoundIteration"),
        ("GetImages", "GET", p + "/images", {"params": {"take": 257}}, 400, "BadRequestInvalid"),
        ("GetTaggedImages", "GET", p + "/images/tagged", {"params": {"take": 300}}, 400, "BadRequestInvalid"),
        ("GetImages", "GET", p + "/images", {"params": {"orderBy": "Sideways"}}, 400, "BadRequestInvalid"),
        ("GetImagesByIds", "GET", p + "/images/id", {"params": {"imageIds": "nope"}}, 400, "BadRequestInvalidIds"),
        ("GetImagesByIds", "GET", p + "/images/id", {"params": {"imageIds": ids(257)}}, 400,
         "BadRequestExceededBatchSize"),
        ("DeleteImages", "DELETE", p + "/images", {"params": {"imageIds": ids(257)}}, 400,
         "BadRequestExceededBatchSize"),
        ("DeleteImages", "DELETE", p + "/images", {}, 400, "BadRequestRequiredParamIsNull"),
        ("DeletePrediction", "DELETE", p + "/predictions", {"params": {"ids": ids(65)}}, 400,
         "BadRequestPredictionIdsExceededCount"),
        ("DeletePrediction", "DELETE", p + "/predictions", {}, 400, "BadRequestPredictionIdsMissing"),
        ("QueryPredictions", "POST", p + "/predictions/query", {"json": {"continuation": "garbage!"}}, 400,
         "BadRequestPredictionInvalidQueryParameters"),
        ("DeleteProject", "DELETE", p, {}, 400, "BadRequestIterationIsPublished"),
        ("GetProjects", "GET", "/projects", {"headers": {"Training-Key": "wrong"}}, 401, "Unauthorized"),
    ]  # fmt: skip
    for operation, method, path, kwargs, status, code in cases:
        response = api.call(operation, method, path, **kwargs)
        assert (response.status_code, response.json()["code"]) == (status, code), (operation, response.text)
    published = next(i for i in server.state()["projects"][0]["iterations"] if i["published"])
    response = api.call("DeleteIteration", "DELETE", f"{p}/iterations/{published['id']}")
    assert (response.status_code, response.json()["code"]) == (400, "BadRequestIterationIsPublished")


def test_write_operations_match_spec(server, api_for) -> None:  # type: ignore[no-untyped-def]
    server.reset()
    write_walk(api_for(server), server)


def test_every_required_operation_validated(spec: SpecValidator) -> None:
    """Runs last in this module: each operation above had at least one success checked against the spec."""
    succeeded = {op for op, statuses in spec.validated.items() if any(200 <= s < 300 for s in statuses)}
    assert REQUIRED - succeeded == set()
