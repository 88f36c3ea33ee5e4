"""Strict request validation (DESIGN.md §3): every bad body is refused naming its field; good ones normalize."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dsr.categories import ALL_CATEGORIES, Category, Operation
from dsr.request import (
    MAX_BODY_BYTES,
    REQUEST_SCHEMA,
    DataRequest,
    RequestTooLargeError,
    RequestValidationError,
    fingerprint,
    is_request_id,
    openapi_document,
    parse_request,
    request_id_from_message,
)
from dsr.settings import ResourceConfig, Settings

P1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
P2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
SETTINGS = Settings(
    resources={
        "default": ResourceConfig(alias="default", endpoint="http://127.0.0.1:1", training_key="k"),
        "eu-prod": ResourceConfig(alias="eu-prod", endpoint="http://127.0.0.1:2"),
    }
)


def parse(body: Any, *, settings: Settings = SETTINGS, message_id: str | None = None) -> DataRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_request(raw, settings=settings, message_id=message_id, new_id=lambda: "generated-id")


def problems_of(body: Any, **kwargs: Any) -> list[dict[str, str]]:
    with pytest.raises(RequestValidationError) as info:
        parse(body, **kwargs)
    problems = info.value.problems
    assert problems and all(p["reason"] for p in problems)
    return problems


def fields_of(body: Any, **kwargs: Any) -> list[str]:
    return [p["field"] for p in problems_of(body, **kwargs)]


EXPORT = {"operation": "export"}
DELETE = {"operation": "delete", "confirm": "default"}

# (id, body, the field a problem must name)
BAD: list[tuple[str, Any, str]] = [
    ("not json", b"{operation: export}", ""),
    ("truncated json", b'{"operation": "export"', ""),
    ("empty body", b"", ""),
    ("whitespace body", b"  \n", ""),
    ("not utf-8", b'{"operation": "\xff"}', ""),
    ("NaN", b'{"operation": "export", "dryRun": NaN}', ""),
    ("duplicate key", b'{"operation": "export", "operation": "delete"}', "/operation"),
    ("array", [EXPORT], ""),
    ("string", "export", ""),
    ("number", 42, ""),
    ("null", None, ""),
    ("missing operation", {}, "/operation"),
    ("unknown operation", {"operation": "erase"}, "/operation"),
    ("operation case", {"operation": "Export"}, "/operation"),
    ("operation not string", {"operation": 1}, "/operation"),
    ("misspelt dryrun", {**DELETE, "dryrun": True}, "/dryrun"),
    ("misspelt dry_run", {**DELETE, "dry_run": True}, "/dry_run"),
    ("unknown field", {**EXPORT, "email": "a@example.com"}, "/email"),
    ("unknown field with slash", {**EXPORT, "a/b~c": 1}, "/a~1b~0c"),
    ("dryRun string", {**DELETE, "dryRun": "yes"}, "/dryRun"),
    ("dryRun string true", {**DELETE, "dryRun": "true"}, "/dryRun"),
    ("dryRun one", {**DELETE, "dryRun": 1}, "/dryRun"),
    ("dryRun null", {**DELETE, "dryRun": None}, "/dryRun"),
    ("dryRun on export", {**EXPORT, "dryRun": True}, "/dryRun"),
    ("dryRun false on export", {**EXPORT, "dryRun": False}, "/dryRun"),
    ("confirm on export", {**EXPORT, "confirm": "default"}, "/confirm"),
    ("delete without confirm", {"operation": "delete"}, "/confirm"),
    ("delete dryRun false without confirm", {"operation": "delete", "dryRun": False}, "/confirm"),
    ("wrong confirm", {**DELETE, "confirm": "Default"}, "/confirm"),
    ("confirm other alias", {**DELETE, "confirm": "eu-prod"}, "/confirm"),
    ("confirm with space", {**DELETE, "confirm": "default "}, "/confirm"),
    ("confirm unicode lookalike", {**DELETE, "confirm": "d\u0435fault"}, "/confirm"),  # Cyrillic e
    ("confirm not string", {**DELETE, "confirm": True}, "/confirm"),
    ("wrong confirm on dry run", {**DELETE, "dryRun": True, "confirm": "nope"}, "/confirm"),
    ("unknown resource", {**EXPORT, "resource": "nope"}, "/resource"),
    ("resource not string", {**EXPORT, "resource": ["default"]}, "/resource"),
    ("empty resource", {**EXPORT, "resource": ""}, "/resource"),
    ("projects empty", {**EXPORT, "projects": []}, "/projects"),
    ("projects null", {**EXPORT, "projects": None}, "/projects"),
    ("projects string", {**EXPORT, "projects": P1}, "/projects"),
    ("project not uuid", {**EXPORT, "projects": [P1, "project-1"]}, "/projects/1"),
    ("project uuid without dashes", {**EXPORT, "projects": [P1.replace("-", "")]}, "/projects/0"),
    ("project uuid in braces", {**EXPORT, "projects": ["{" + P1 + "}"]}, "/projects/0"),
    ("project uuid with newline", {**EXPORT, "projects": [P1 + "\n"]}, "/projects/0"),
    ("project number", {**EXPORT, "projects": [1]}, "/projects/0"),
    ("project duplicate", {**EXPORT, "projects": [P1, P2, P1]}, "/projects/2"),
    ("project duplicate other case", {**EXPORT, "projects": [P1, P1.upper()]}, "/projects/1"),
    ("101 projects", {**EXPORT, "projects": [f"00000000-0000-4000-8000-{i:012d}" for i in range(101)]}, "/projects"),
    ("categories empty", {**EXPORT, "categories": []}, "/categories"),
    ("categories string", {**EXPORT, "categories": "images"}, "/categories"),
    ("unknown category", {**EXPORT, "categories": ["images", "photos"]}, "/categories/1"),
    ("category case", {**EXPORT, "categories": ["Images"]}, "/categories/0"),
    ("category duplicate", {**EXPORT, "categories": ["images", "tags", "images"]}, "/categories/2"),
    ("category null", {**EXPORT, "categories": [None]}, "/categories/0"),
    ("requestId traversal", {**EXPORT, "requestId": "../x"}, "/requestId"),
    ("requestId slash", {**EXPORT, "requestId": "a/b"}, "/requestId"),
    ("requestId backslash", {**EXPORT, "requestId": "a\\b"}, "/requestId"),
    ("requestId dot", {**EXPORT, "requestId": "case.1"}, "/requestId"),
    ("requestId empty", {**EXPORT, "requestId": ""}, "/requestId"),
    ("requestId 65 chars", {**EXPORT, "requestId": "a" * 65}, "/requestId"),
    ("requestId trailing newline", {**EXPORT, "requestId": "case-1\n"}, "/requestId"),
    ("requestId unicode", {**EXPORT, "requestId": "café"}, "/requestId"),
    ("requestId fullwidth digit", {**EXPORT, "requestId": "case-\uff11"}, "/requestId"),
    ("requestId number", {**EXPORT, "requestId": 42}, "/requestId"),
    ("requestId query", {**EXPORT, "requestId": "x?showHistory=true"}, "/requestId"),
    ("unicode unknown field", {**EXPORT, "dryRün": True}, "/dryRün"),
    ("deep nesting", b'{"operation": "export", "projects": ' + b"[" * 20 + b"1" + b"]" * 20 + b"}", ""),
    ("very deep nesting", b"[" * 60000 + b"]" * 60000, ""),
]


@pytest.mark.parametrize(("body", "field"), [(b, f) for _, b, f in BAD], ids=[i for i, _, _ in BAD])
def test_bad_request_is_refused_naming_the_field(body: Any, field: str) -> None:
    assert field in fields_of(body)


def test_unknown_field_hint_names_the_real_field() -> None:
    (problem,) = [p for p in problems_of({**DELETE, "dryrun": True}) if p["field"] == "/dryrun"]
    assert "dryRun" in problem["reason"]


def test_misspelt_dryrun_never_becomes_a_delete_even_with_confirm() -> None:
    with pytest.raises(RequestValidationError):
        parse({"operation": "delete", "confirm": "default", "dryrun": True})


def test_all_problems_are_reported_at_once() -> None:
    body = {"operation": "delete", "dryrun": True, "categories": ["x"], "requestId": "../x", "projects": []}
    assert set(fields_of(body)) >= {"/dryrun", "/categories/0", "/requestId", "/projects", "/confirm"}


def test_problems_are_capped() -> None:
    problems = problems_of({**EXPORT, "categories": [f"c{i}" for i in range(500)]})
    assert len(problems) == 51
    assert "more problems" in problems[-1]["reason"]


def test_missing_default_resource_names_resource() -> None:
    settings = Settings(resources={"eu-prod": SETTINGS.resources["eu-prod"]})
    problems = problems_of(EXPORT, settings=settings)
    assert problems[0]["field"] == "/resource"
    assert "eu-prod" in problems[0]["reason"]


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 10 * MAX_BODY_BYTES])
def test_oversized_body_is_a_distinct_error(size: int) -> None:
    body = json.dumps({**EXPORT, "requestId": "x"}).encode()
    body = body[:-1] + b" " * (size - len(body)) + b"}"
    with pytest.raises(RequestTooLargeError) as info:
        parse(body)
    assert info.value.status == 413
    assert info.value.problems[0]["field"] == ""


def test_body_of_exactly_the_limit_is_read() -> None:
    body = json.dumps(EXPORT).encode()
    body = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"
    assert len(body) == MAX_BODY_BYTES
    assert parse(body).operation is Operation.EXPORT


def test_quadratic_unique_items_is_avoided() -> None:
    """jsonschema's uniqueItems is O(n^2) on objects: a 64 KB body of them must still be fast."""
    import time

    items = [{"a": i} for i in range(5000)]
    start = time.monotonic()
    assert "/projects" in fields_of({**EXPORT, "projects": items})
    assert time.monotonic() - start < 5


# --- happy paths ---


def test_minimal_export_gets_defaults() -> None:
    request = parse(EXPORT)
    assert request == DataRequest(
        operation=Operation.EXPORT,
        resource="default",
        request_id="generated-id",
        projects=None,
        categories=ALL_CATEGORIES,
        dry_run=False,
        confirm=None,
    )
    assert request.to_dict() == {
        "requestId": "generated-id",
        "operation": "export",
        "resource": "default",
        "projects": None,
        "categories": [str(c) for c in ALL_CATEGORIES],
        "dryRun": False,
        "confirm": None,
    }


def test_full_delete_normalizes() -> None:
    body = {
        "operation": "delete",
        "resource": "eu-prod",
        "projects": [P2.upper(), P1],
        "categories": ["images", "tags", "projects"],
        "requestId": "case-2026-0042",
        "dryRun": False,
        "confirm": "eu-prod",
    }
    request = parse(body)
    assert request.projects == (P1, P2)  # lower-case, sorted
    assert request.categories == (Category.PROJECTS, Category.TAGS, Category.IMAGES)  # canonical order
    assert request.to_dict() == {
        "requestId": "case-2026-0042",
        "operation": "delete",
        "resource": "eu-prod",
        "projects": [P1, P2],
        "categories": ["projects", "tags", "images"],
        "dryRun": False,
        "confirm": "eu-prod",
    }


def test_dry_run_delete_needs_no_confirm() -> None:
    request = parse({"operation": "delete", "dryRun": True})
    assert request.dry_run is True and request.confirm is None


def test_to_dict_is_json_native_and_round_trips() -> None:
    request = parse({**DELETE, "projects": [P1], "categories": ["tags"], "requestId": "r1"})
    data = json.loads(json.dumps(request.to_dict()))
    assert data == request.to_dict()
    assert DataRequest.from_dict(data) == request


def test_utf8_bom_is_tolerated() -> None:
    assert parse(b"\xef\xbb\xbf" + json.dumps(EXPORT).encode()).operation is Operation.EXPORT


def test_100_projects_are_allowed() -> None:
    projects = [f"00000000-0000-4000-8000-{i:012d}" for i in range(100)]
    assert len(parse({**EXPORT, "projects": projects}).projects or ()) == 100


def test_request_id_64_chars_is_allowed() -> None:
    assert parse({**EXPORT, "requestId": "A_z-9" * 12 + "abcd"}).request_id == "A_z-9" * 12 + "abcd"


# --- request ids ---


def test_body_request_id_wins_over_message_id() -> None:
    assert parse({**EXPORT, "requestId": "from-body"}, message_id="from-message").request_id == "from-body"


def test_valid_message_id_is_the_request_id() -> None:
    assert parse(EXPORT, message_id="6a1b-msg_1").request_id == "6a1b-msg_1"


@pytest.mark.parametrize("message_id", ["../etc/passwd", "a" * 65, "id with spaces", "ü", "x\n"])
def test_invalid_message_id_becomes_a_stable_valid_id(message_id: str) -> None:
    first = parse(EXPORT, message_id=message_id).request_id
    assert is_request_id(first)
    assert first == parse(EXPORT, message_id=message_id).request_id == request_id_from_message(message_id)
    assert first != request_id_from_message(message_id + "x")


def test_invalid_generated_id_is_a_bug_not_a_client_error() -> None:
    with pytest.raises(ValueError, match="new_id"):
        parse_request(json.dumps(EXPORT).encode(), settings=SETTINGS, new_id=lambda: "../bad")


# --- fingerprint ---


def test_fingerprint_is_stable_across_key_order_and_list_order() -> None:
    a = {"operation": "export", "projects": [P1, P2], "categories": ["tags", "images"], "requestId": "r"}
    b = {"requestId": "r", "categories": ["images", "tags"], "projects": [P2.upper(), P1], "operation": "export"}
    assert parse(a).fingerprint() == parse(b).fingerprint()


def test_fingerprint_equals_for_defaults_spelled_out() -> None:
    explicit = {**EXPORT, "requestId": "r", "resource": "default", "categories": [str(c) for c in ALL_CATEGORIES]}
    assert parse({**EXPORT, "requestId": "r"}).fingerprint() == parse(explicit).fingerprint()


def test_fingerprint_differs_when_meaning_differs() -> None:
    base = parse({**DELETE, "requestId": "r", "dryRun": True})
    assert base.fingerprint() != parse({**DELETE, "requestId": "r"}).fingerprint()
    assert base.fingerprint() != parse({**DELETE, "requestId": "r", "dryRun": True, "projects": [P1]}).fingerprint()


def test_fingerprint_is_sha256_of_canonical_json() -> None:
    request = parse({**EXPORT, "requestId": "r"})
    assert fingerprint(request.to_dict()) == request.fingerprint()
    assert len(request.fingerprint()) == 64


# --- one schema ---


def test_schema_is_valid_draft_2020_12_and_lives_in_the_openapi_document() -> None:
    Draft202012Validator.check_schema(REQUEST_SCHEMA)
    assert openapi_document()["components"]["schemas"]["DataRequest"] == REQUEST_SCHEMA
    assert REQUEST_SCHEMA["additionalProperties"] is False


def test_schema_categories_match_the_enum() -> None:
    assert REQUEST_SCHEMA["properties"]["categories"]["items"]["enum"] == [str(c) for c in Category]
    assert REQUEST_SCHEMA["properties"]["operation"]["enum"] == [str(o) for o in Operation]
