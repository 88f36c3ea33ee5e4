"""Subject requests (DESIGN.md §3): validation as strict as the rest, the selector kept out of history, and the
same body through the HTTP intake, Service Bus and schedules."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from customvision import odata_filter, odata_string
from dsr.intake import Decision, orchestration_input, start_once, submit
from dsr.request import RequestValidationError, parse_request
from dsr.schedules import run_schedules
from dsr.servicebus import Outcome, QueueMessage, handle_message
from dsr.settings import ResourceConfig, Settings
from dsr.subject.selector import Subject
from dsr.subject.store import SubjectConflict, SubjectRef, digest
from tests.dsr.test_intake import FakeOrchestrations

SETTINGS = Settings(resources={alias: ResourceConfig(alias=alias, endpoint=f"http://127.0.0.1:{n}")
                               for n, alias in enumerate(("default", "eu"), start=1)})
ONE = Settings(resources={"default": ResourceConfig(alias="default", endpoint="http://127.0.0.1:1")})
NOW = datetime(2026, 11, 22, 15, 0, 0, tzinfo=UTC)
USER = {"metadata": {"userId": "u-123"}}
IMAGE = "0f8fad5b-d9cb-469f-a165-70867728950e"


def parse(body: dict[str, Any], settings: Settings = SETTINGS) -> Any:
    return parse_request(json.dumps(body).encode(), settings=settings, new_id=lambda: "generated")


def problems(body: dict[str, Any], settings: Settings = SETTINGS) -> dict[str, str]:
    with pytest.raises(RequestValidationError) as caught:
        parse(body, settings)
    return {p["field"]: p["reason"] for p in caught.value.problems}


class MemorySelectors:
    """The SelectorStore port in memory (salted like the blob store)."""

    def __init__(self) -> None:
        self.saved: dict[str, tuple[str, Subject]] = {}

    def save(self, request_id: str, subject: Subject) -> SubjectRef:
        salt, stored = self.saved.setdefault(request_id, (f"salt-{request_id}", subject))
        if stored != subject:
            raise SubjectConflict(request_id)
        return SubjectRef(digest=digest(salt, subject), summary=subject.summary())

    def matches(self, request_id: str, subject: Subject, ref: Mapping[str, Any]) -> bool:
        salt, _ = self.saved.get(request_id, ("", None))
        return digest(salt, subject) == ref.get("digest")


def test_a_subject_request_defaults_to_every_resource() -> None:
    request = parse({"operation": "export", "subject": USER})
    assert request.resources == ("default", "eu") and request.resource == "*"
    assert request.categories == ("images",) and request.subject.odata_filter() == "userId eq 'u-123'"
    assert parse({"operation": "export", "subject": USER, "resources": ["eu"]}).resource == "eu"
    assert parse({"operation": "export", "subject": USER, "resources": "*"}).resources == ("default", "eu")
    assert parse({"operation": "export", "subject": USER, "resource": "eu"}).resources == ("eu",)
    with_predictions = parse({"operation": "export", "subject": {"imageIds": [IMAGE.upper()]},
                              "predictions": {"application": "kiosk"}})
    assert with_predictions.categories == ("images", "predictions")
    assert with_predictions.subject.image_ids == (IMAGE,)


@pytest.mark.parametrize(("body", "field"), [
    ({"subject": {}}, "/subject"),
    ({"subject": {"metadata": {"userId": "u"}, "imageIds": [IMAGE]}}, "/subject"),
    ({"subject": {"metadata": {}}}, "/subject/metadata"),
    ({"subject": {"metadata": {"userId": 5}}}, "/subject/metadata/userId"),
    ({"subject": {"metadata": {"userId": ""}}}, "/subject/metadata/userId"),
    ({"subject": {"metadata": {"user id": "u"}}}, "/subject/metadata/user id"),
    ({"subject": {"metadata": {"or": "u"}}}, "/subject/metadata/or"),
    ({"subject": {"metadata": {"1st": "u"}}}, "/subject/metadata/1st"),
    ({"subject": {"metadata": {"a/b": "u"}}}, "/subject/metadata/a~1b"),
    ({"subject": {"imageIds": []}}, "/subject/imageIds"),
    ({"subject": {"imageIds": ["not-a-uuid"]}}, "/subject/imageIds/0"),
    ({"subject": {"imageIds": [IMAGE, IMAGE.upper()]}}, "/subject/imageIds/1"),
    ({"subject": {"userId": "u"}}, "/subject/userId"),
    ({"subject": USER, "resources": "all"}, "/resources"),
    ({"subject": USER, "resources": ["nope"]}, "/resources/0"),
    ({"subject": USER, "resources": []}, "/resources"),
    ({"subject": USER, "resource": "eu", "resources": ["eu"]}, "/resource"),
    ({"subject": USER, "categories": ["images"]}, "/categories"),
    ({"subject": USER, "projects": [IMAGE]}, "/projects"),
    ({"subject": USER, "predictions": {}}, "/predictions"),
    ({"subject": USER, "predictions": {"from": "2026-01-01T00:00:00Z"}}, "/predictions"),
    ({"subject": USER, "predictions": {"from": "2026-01-02", "to": "2026-01-03T00:00:00Z"}}, "/predictions/from"),
    ({"subject": USER, "predictions": {"from": "2026-01-03T00:00:00Z", "to": "2026-01-02T00:00:00Z"}},
     "/predictions/to"),
    ({"subject": USER, "predictions": {"application": "a", "since": "x"}}, "/predictions/since"),
    ({"resources": ["eu"]}, "/resources"),
    ({"predictions": {"application": "a"}}, "/predictions"),
])
def test_bad_subject_fields_are_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    assert field in problems({"operation": "export", **body})


def test_the_subject_is_a_string_value_and_never_filter_text() -> None:
    """Values are OData literals with quotes doubled: nothing in a value can end it early."""
    assert odata_string("O'Brien") == "'O''Brien'"
    assert odata_filter({"userId": "x' or userId ne 'x", "tenant": "t"}) == (
        "tenant eq 't' and userId eq 'x'' or userId ne ''x'")
    request = parse({"operation": "export", "subject": {"metadata": {"userId": "') or (1 eq 1"}}})
    assert request.subject.odata_filter() == "userId eq ''') or (1 eq 1'"
    with pytest.raises(ValueError):
        odata_filter({"userId eq 'a' or x": "v"})


@pytest.mark.parametrize(("body", "settings", "ok"), [
    ({"resources": ["eu"], "confirm": "eu"}, SETTINGS, True),
    ({"resources": ["eu"], "confirm": "*"}, SETTINGS, False),
    ({"resources": ["default", "eu"], "confirm": "*"}, SETTINGS, True),
    ({"resources": ["default", "eu"], "confirm": "default"}, SETTINGS, False),
    ({"confirm": "*"}, SETTINGS, True),
    ({"confirm": "default"}, SETTINGS, False),
    ({"resources": "*", "confirm": "*"}, SETTINGS, True),
    ({"confirm": "default"}, ONE, True),  # every resource is this one alias: either form
    ({"confirm": "*"}, ONE, True),
    ({"resource": "eu", "confirm": "eu"}, SETTINGS, True),
    ({}, SETTINGS, False),
    ({"dryRun": True}, SETTINGS, True),
])
def test_a_subject_delete_confirms_the_one_alias_or_star(body: dict[str, Any], settings: Settings, ok: bool) -> None:
    full = {"operation": "delete", "subject": USER, **body}
    if ok:
        assert parse(full, settings).confirm == body.get("confirm")
    else:
        assert "/confirm" in problems(full, settings)


def test_the_input_holds_a_reference_never_the_selector() -> None:
    request = parse({"operation": "delete", "subject": USER, "predictions": {"application": "kiosk-7"},
                     "confirm": "*", "requestId": "case-9"})
    selectors = MemorySelectors()
    orchestrations = FakeOrchestrations()
    assert asyncio.run(start_once(request, orchestrations=orchestrations, now=NOW,
                                  selectors=selectors)) is Decision.START
    (instance_id, started), = orchestrations.started
    text = json.dumps(started)
    assert instance_id == "case-9" and "u-123" not in text and "kiosk-7" not in text
    assert started["request"]["subject"]["summary"] == {"kind": "metadata", "keys": ["userId"], "imageIds": 0,
                                                        "predictions": True}
    assert started["request"]["resources"] == ["default", "eu"]
    assert asyncio.run(start_once(request, orchestrations=orchestrations, now=NOW,
                                  selectors=selectors)) is Decision.EXISTING
    other = parse({"operation": "delete", "subject": {"metadata": {"userId": "u-999"}}, "confirm": "*",
                   "predictions": {"application": "kiosk-7"}, "requestId": "case-9"})
    assert asyncio.run(start_once(other, orchestrations=orchestrations, now=NOW,
                                  selectors=selectors)) is Decision.CONFLICT
    with pytest.raises(ValueError):
        orchestration_input(request, now=NOW)  # without its reference a subject request has no input


def test_http_service_bus_and_schedules_take_the_same_body() -> None:
    body = {"operation": "export", "subject": USER, "resources": ["eu"]}
    selectors, orchestrations = MemorySelectors(), FakeOrchestrations()
    reply = asyncio.run(submit(json.dumps({**body, "requestId": "http-1"}).encode(), orchestrations=orchestrations,
                               settings=SETTINGS, now=NOW, new_id=lambda: "x", status_uri=lambda i: f"/r/{i}",
                               selectors=selectors))
    assert reply.status == 202

    class Settle:
        def complete(self) -> None: ...
        def abandon(self) -> None: ...
        def dead_letter(self, reason: str, description: str) -> None: raise AssertionError(description)

    outcome = asyncio.run(handle_message(QueueMessage(json.dumps(body).encode(), "msg-1"),
                                         orchestrations=orchestrations, settings=SETTINGS, settlement=Settle(),
                                         now=NOW, selectors=selectors))
    assert outcome is Outcome.STARTED

    class Scheduled(FakeOrchestrations):
        async def running_ids(self, prefix: str) -> list[str]:
            return []

    scheduled = Scheduled()
    raw = json.dumps([{"name": "nightly", "schedule": "0 0 * * * *", "request": body}])
    fired = asyncio.run(run_schedules(raw, settings=SETTINGS, orchestrations=scheduled,
                                      now=datetime(2026, 11, 22, 15, 0, 0, tzinfo=UTC), selectors=selectors))
    assert list(fired.values()) == ["started"]
    for _, started in [*orchestrations.started, *scheduled.started]:
        assert started["request"]["resources"] == ["eu"] and "u-123" not in json.dumps(started)
    assert set(selectors.saved) == {"http-1", "msg-1", scheduled.started[0][0]}


@pytest.mark.parametrize("value", [True, None, 5, {"a": 1}, [1, None], "eu"])
@pytest.mark.parametrize("field", ["resources", "resource", "subject", "predictions"])
def test_any_json_in_a_subject_field_is_a_problem_never_a_crash(field: str, value: Any) -> None:
    """Found by the API fuzzer: `"resources": true` made the rules iterate a boolean (HTTP 500)."""
    for operation in ("export", "delete"):
        body = {"operation": operation, "subject": USER, field: value}
        try:
            parse(body)
        except RequestValidationError as exc:
            assert exc.problems
