"""`predictionsOlderThanDays`: the predictions age filter of delete requests (used by retention schedules)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dsr.request import REQUEST_SCHEMA, DataRequest, RequestValidationError, fingerprint, parse_request
from dsr.settings import ResourceConfig, Settings

SETTINGS = Settings(resources={"default": ResourceConfig(alias="default", endpoint="http://127.0.0.1:1")})
DELETE = {"operation": "delete", "confirm": "default"}


def parse(body: dict[str, Any]) -> DataRequest:
    return parse_request(json.dumps(body).encode(), settings=SETTINGS, new_id=lambda: "generated-id")


def problems(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(RequestValidationError) as info:
        parse(body)
    return [(p["field"], p["reason"]) for p in info.value.problems]


def test_the_schema_documents_the_field() -> None:
    field = REQUEST_SCHEMA["properties"]["predictionsOlderThanDays"]
    assert field["type"] == "integer" and field["minimum"] == 0


@pytest.mark.parametrize("categories", [None, ["predictions"], ["images", "predictions"]])
def test_accepted_for_a_delete_that_includes_predictions(categories: list[str] | None) -> None:
    body = {**DELETE, "predictionsOlderThanDays": 30}
    if categories is not None:
        body["categories"] = categories
    request = parse(body)
    assert request.predictions_older_than_days == 30
    assert request.to_dict()["predictionsOlderThanDays"] == 30


def test_zero_days_means_every_prediction_created_before_now() -> None:
    request = parse({**DELETE, "categories": ["predictions"], "predictionsOlderThanDays": 0})
    assert request.predictions_older_than_days == 0


def test_dry_run_may_preview_it() -> None:
    request = parse({"operation": "delete", "dryRun": True, "predictionsOlderThanDays": 7})
    assert request.dry_run and request.predictions_older_than_days == 7


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, "must be at least 0"),
        (36501, "must be at most 36500"),
        ("30", "must be an integer, not a string"),
        (True, "must be an integer, not true or false"),
        (None, "must be an integer, not null"),
        (30.0, "must be an integer, not a number"),
        (2.5, "must be an integer, not a number"),
    ],
)
def test_bad_values_are_refused_naming_the_field(value: Any, reason: str) -> None:
    assert ("/predictionsOlderThanDays", reason) in problems({**DELETE, "predictionsOlderThanDays": value})


def test_refused_for_export() -> None:
    found = problems({"operation": "export", "predictionsOlderThanDays": 30})
    assert found == [("/predictionsOlderThanDays", "only allowed when operation is delete")]


def test_refused_when_predictions_are_not_deleted() -> None:
    found = problems({**DELETE, "categories": ["images"], "predictionsOlderThanDays": 30})
    assert found == [("/predictionsOlderThanDays", "only allowed when categories include predictions")]


def test_misspelling_is_an_unknown_field_with_a_hint() -> None:
    found = problems({**DELETE, "predictionsolderthandays": 30})
    assert found[0][0] == "/predictionsolderthandays" and "predictionsOlderThanDays" in found[0][1]


def test_absent_field_leaves_to_dict_and_fingerprint_as_before() -> None:
    request = parse(DELETE)
    assert request.predictions_older_than_days is None
    assert "predictionsOlderThanDays" not in request.to_dict()
    # the fingerprint of a request without the filter is the one computed before the field existed
    before = {"requestId": "generated-id", "operation": "delete", "resource": "default", "projects": None,
              "categories": list(request.to_dict()["categories"]), "dryRun": False, "confirm": "default"}

    assert request.fingerprint() == fingerprint(before)


def test_round_trips_and_changes_the_fingerprint() -> None:
    with_filter = parse({**DELETE, "requestId": "r1", "predictionsOlderThanDays": 30})
    without = parse({**DELETE, "requestId": "r1"})
    assert DataRequest.from_dict(json.loads(json.dumps(with_filter.to_dict()))) == with_filter
    assert with_filter.fingerprint() != without.fingerprint()
    other_age = parse({**DELETE, "requestId": "r1", "predictionsOlderThanDays": 31})
    assert other_age.fingerprint() != with_filter.fingerprint()
