"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis), over real HTTP.

The document is read from the running app (`GET /api/openapi.json`), so what is fuzzed is what is served.
Generation is derandomized with a fixed number of examples per operation, so CI sees the same cases
on every run; the test prints how many it sent.

Why no generated body can delete anything: the app under test has exactly one resource, under a random
alias the generator cannot know (`default` is not configured). A delete must name a configured resource
and repeat it in `confirm`, so every generated body - schema-valid ("positive") or not ("negative") - is
refused, and the emulator's data must come out unchanged. The positive bodies still earn their place:
each must be refused for `/resource` alone, which shows the schema and the validator agree.

Subject requests are the one exception by design (DESIGN.md §3): they need no alias (they default to every
configured resource) and a subject delete confirms with "*". A generated subject body that the validator accepts
would rightly start a run, so such bodies are left out before sending (`accepted_subject`); every other generated
subject body is sent and must be refused like the rest.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.internal.cache import LRUCache
from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dsr.request import REQUEST_SCHEMA, parse_request
from dsr.settings import ResourceConfig, Settings
from localrun.azurite import Azurite
from tests.e2e.security import PROBLEM_JSON, SecurityStack, Snapshot, fields_of, instance_ids, security_stack

pytestmark = [pytest.mark.e2e]

ALIAS = f"fz-{secrets.token_hex(12)}"  # the only configured resource; never in the document, never generated
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# (path, method, generation mode, examples); about 420 cases, ~30 s on two cores.
PLAN = [
    ("/requests", "POST", NEGATIVE, 200),
    ("/requests", "POST", POSITIVE, 80),
    ("/requests/{id}", "GET", NEGATIVE, 40),
    ("/requests/{id}", "GET", POSITIVE, 30),
    ("/requests/{id}", "DELETE", NEGATIVE, 30),
    ("/requests/{id}", "DELETE", POSITIVE, 20),
]
FIELDS = tuple(REQUEST_SCHEMA["properties"])
JSON = "application/json"
CATEGORIES = tuple(REQUEST_SCHEMA["properties"]["categories"]["items"]["enum"])
AUTH_EXAMPLES = 30  # POST with the generator's own (wrong or missing) credentials
MUTATION_EXAMPLES = 150  # valid bodies for the real alias, each with exactly one violation
SCHEMA_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def stack(azurite: Azurite) -> Iterator[SecurityStack]:
    resource = {"endpoint": "{emulator}", "trainingKeySetting": "CUSTOMVISION_TRAINING_KEY", "tps": 1000}
    settings = {"CUSTOMVISION_ENDPOINT": "", "CUSTOMVISION_RESOURCES": json.dumps({ALIAS: resource})}
    with security_stack("fuzz", azurite, settings=settings) as running:
        yield running


@pytest.fixture(autouse=True)
def cases_independent_of_loaded_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis also draws literals found in the project modules loaded so far ("local constants"); which those
    are depends on what ran before in the process, so the same derandomized test generated other cases alone
    than after other tests (and one of those failed). Without them, the fixed seed alone decides the cases.
    (Private API of the pinned hypothesis; an upgrade that moves it fails here, loudly.)"""
    monkeypatch.setattr(providers, "_get_local_constants", Constants)
    monkeypatch.setattr(providers, "CONSTANTS_CACHE", LRUCache(1024))


def media_type(response: requests.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


LOCAL = Settings(resources={ALIAS: ResourceConfig(alias=ALIAS, endpoint="http://127.0.0.1:1")})


def accepted_subject(body: Any) -> bool:
    """A schema-valid subject request the app would accept (and rightly run): not a case for 'always refused'."""
    if not isinstance(body, dict) or "subject" not in body:
        return False
    try:
        parse_request(json.dumps(body).encode(), settings=LOCAL, new_id=lambda: "x")
    except (ValueError, TypeError):
        return False
    return True


def fuzz(strategy: Any, examples: int, check: Callable[[Any], None]) -> int:
    """Run `check(case)` on `examples` derandomized cases; the number of cases actually run."""
    ran = 0

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(strategy)
    def run(case: Any) -> None:
        nonlocal ran
        ran += 1
        check(case)

    run()
    return ran


def check_refused(
    stack: SecurityStack, path: str, method: str, mode: GenerationMode, statuses: Counter[str]
) -> Callable[[Any], None]:
    """The properties every generated case must have (the app has nothing to find and nothing it may start)."""
    base_url, key = stack.devhost.url("api"), stack.function_key

    def check(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=30)
        statuses[str(response.status_code)] += 1
        if method == "POST":
            statuses[f"body:{type(case.body).__name__}"] += 1
        raw = response.headers  # schemathesis' Response: header name -> list of values
        content_type = (raw.get("content-type") or [""])[0].split(";")[0].strip()
        assert response.status_code < 500, (response.status_code, response.text[:300])
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
        assert key not in response.text
        if content_type == PROBLEM_JSON:
            case.validate_response(response, checks=SCHEMA_CHECKS)
            problem = response.json()
            assert problem["status"] == response.status_code and problem["title"], problem
        else:  # only the host's router may answer without a problem (a '/' or a control character in a path id:
            # devhost's router answers those with aiohttp's own 404 text, or none)
            assert (path, mode, response.status_code) == ("/requests/{id}", NEGATIVE, 404)
            assert response.content in (b"", b"404: Not Found"), response.content
            return
        if method == "POST":
            assert response.status_code in (400, 413, 415), response.status_code
            fields = fields_of(problem)
            assert fields and all(isinstance(f, str) for f in fields), problem
            if mode is POSITIVE and not (isinstance(case.body, dict) and "subject" in case.body):
                assert "/resource" in fields, (case.body, problem)  # refused only because no alias is configured
        else:
            assert response.status_code == 404, problem
            if mode is POSITIVE:
                assert problem["detail"] == f"no request with id {case.path_parameters['id']}", problem

    return check


def test_fuzz_the_api_from_its_openapi_document(stack: SecurityStack, capsys: pytest.CaptureFixture[str]) -> None:
    host, key = stack.devhost, stack.function_key
    before = Snapshot.take(stack)
    assert before.instances == frozenset()
    schema = schemathesis.openapi.from_url(host.url("api/openapi.json"), headers={"x-functions-key": key})
    auth = {"headers": {"x-functions-key": key}, "query": {"code": key}}  # both schemes: neither is generated

    report: list[str] = []
    statuses: Counter[str] = Counter()  # status codes, and the JSON types of the bodies sent
    total = 0
    for path, method, mode, examples in PLAN:
        strategy = schema[path][method].as_strategy(generation_mode=mode, **auth)
        if method == "POST":
            strategy = strategy.filter(lambda case: not accepted_subject(case.body))
        ran = fuzz(strategy, examples, check_refused(stack, path, method, mode, statuses))
        total += ran
        report.append(f"  {method:6} {path:15} {mode.value:8} {ran:4} cases")

    # The generator's own credentials (the document's two security schemes): never the key, always 401.
    auth_statuses: Counter[int] = Counter()

    def refused_without_key(case: Any) -> None:
        response = case.call(base_url=host.url("api"), timeout=30)
        auth_statuses[response.status_code] += 1
        assert response.status_code == 401, (response.status_code, response.text[:300])

    ran = fuzz(schema["/requests"]["POST"].as_strategy(generation_mode=POSITIVE), AUTH_EXAMPLES, refused_without_key)
    total += ran
    report.append(f"  POST   /requests       auth     {ran:4} cases (generated credentials)")

    after = Snapshot.take(stack)
    assert after.instances == before.instances, "a generated request started an orchestration"
    assert after.emulator_state == before.emulator_state, "a generated request changed the emulator's data"
    assert after.training_api_calls == before.training_api_calls, "a generated request reached the Training API"
    assert total >= 400
    with capsys.disabled():
        print(f"\nfuzz: {total} generated cases against devhost, no 5xx, none started an orchestration "
              f"or changed the emulator; statuses {dict(sorted(statuses.items()))}, "
              f"auth {dict(auth_statuses)}")
        print("\n".join(report))


# --- mutations of valid requests: the real alias, so only the one violation stands between a body and a run ---


def valid_for(body: Any) -> dict[str, Any] | None:
    """A generated schema-valid body made valid for the app too (the real alias, the cross-field rules), or None."""
    if not isinstance(body, dict):
        return None
    # a whole-resource request (subject requests are mutated in tests/dsr/test_request_subject.py)
    body = {**{k: v for k, v in body.items() if k not in ("subject", "resources", "predictions")}, "resource": ALIAS}
    if "projects" in body:  # the app also refuses ids equal but for case
        body["projects"] = sorted({p.lower() for p in body["projects"]})
    if body["operation"] == "export":
        for name in ("dryRun", "confirm", "predictionsOlderThanDays"):
            body.pop(name, None)
    else:
        body["confirm"] = ALIAS
        if "predictions" not in body.get("categories", ["predictions"]):
            body.pop("predictionsOlderThanDays", None)
        elif "predictionsOlderThanDays" in body:  # JSON Schema's integer admits 3.0; the API's types are exact
            body["predictionsOlderThanDays"] = int(body["predictionsOlderThanDays"])
    return body


def pointer(*parts: str | int) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=8), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                                   st.integers(),
                                                                                                   max_size=1))
TYPES = {"operation": str, "resource": str, "requestId": str, "confirm": str, "dryRun": bool,
         "projects": list, "categories": list, "predictionsOlderThanDays": int, "subject": dict, "resources": list,
         "predictions": dict}


def is_type(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> tuple[dict[str, Any], str, str]:
    """(body, the JSON pointer the app must name, the mutation's name): one violation of a valid body."""
    body = dict(draw(valid))
    kind = draw(st.sampled_from(["unknown field", "misspelt field", "wrong type", "bad project", "bad category",
                                 "duplicate item", "empty list", "bad requestId", "wrong confirm", "no confirm"]))
    if kind == "unknown field":
        name = draw(st.text(min_size=1, max_size=12).filter(lambda n: n not in FIELDS))
        body[name] = draw(JSON_VALUES)
        return body, pointer(name), kind
    if kind == "misspelt field":
        name = draw(st.sampled_from(["dryrun", "dry_run", "DryRun", "Confirm", "project", "category", "requestid",
                                     "request_id", "Operation", "resources", "predictionsOlderThanDay"]))
        body[name] = body.get(name.lower(), True)
        return body, pointer(name), kind
    if kind == "wrong type":
        name = draw(st.sampled_from(FIELDS))
        body[name] = draw(JSON_VALUES.filter(lambda v: not is_type(v, TYPES[name])))
        return body, pointer(name), kind
    if kind == "bad project":
        projects = list(body.get("projects") or [str(uuid.UUID(int=1))])
        index = draw(st.integers(0, len(projects)))
        bad = draw(st.one_of(st.text(max_size=40), st.integers(), st.just(str(uuid.UUID(int=7)).replace("-", ""))))
        projects.insert(index, bad)
        return {**body, "projects": projects}, pointer("projects", index), kind
    if kind == "bad category":
        categories = list(body.get("categories") or ["tags"])
        index = draw(st.integers(0, len(categories)))
        categories.insert(index, draw(st.text(max_size=20).filter(lambda c: c not in CATEGORIES)))
        return {**body, "categories": categories}, pointer("categories", index), kind
    if kind == "duplicate item":
        name = draw(st.sampled_from(["projects", "categories"]))
        items = list(body.get(name) or ([str(uuid.UUID(int=3))] if name == "projects" else ["images"]))
        twin = items[draw(st.integers(0, len(items) - 1))]
        return {**body, name: [*items, twin.upper() if name == "projects" else twin]}, pointer(name, len(items)), kind
    if kind == "empty list":
        name = draw(st.sampled_from(["projects", "categories"]))
        return {**body, name: []}, pointer(name), kind
    if kind == "bad requestId":
        body["requestId"] = draw(st.one_of(st.text(min_size=65, max_size=70, alphabet="ab"),
                                           st.text(min_size=1, max_size=20).filter(lambda t: not t.isascii()
                                                                                   or not t.replace("-", "").replace(
                                                                                       "_", "").isalnum()),
                                           st.just("")))
        return body, "/requestId", kind
    if body["operation"] == "export":  # confirm on an export is refused as well
        body["confirm"] = ALIAS
        return body, "/confirm", kind
    if kind == "wrong confirm":
        body["confirm"] = draw(st.text(max_size=70).filter(lambda c: c != ALIAS))
        return body, "/confirm", kind
    body.pop("confirm")
    body["dryRun"] = draw(st.sampled_from([False, None]))
    if body["dryRun"] is None:
        body.pop("dryRun")
    return body, "/confirm", kind


def test_fuzz_one_violation_of_a_valid_request(stack: SecurityStack, capsys: pytest.CaptureFixture[str]) -> None:
    """Valid bodies for the real resource, each with one mutation (a real delete but for it): every one is refused,
    naming the mutated field, and nothing is started, read or deleted."""
    host, key = stack.devhost, stack.function_key
    before = Snapshot.take(stack)
    schema = schemathesis.openapi.from_url(host.url("api/openapi.json"), headers={"x-functions-key": key})
    cases = schema["/requests"]["POST"].as_strategy(generation_mode=POSITIVE, headers={"x-functions-key": key},
                                                    query={"code": key})
    valid = cases.map(lambda case: valid_for(case.body)).filter(lambda body: body is not None)
    local = LOCAL
    kinds: Counter[str] = Counter()

    def check(mutation: tuple[dict[str, Any], str, str]) -> None:
        body, field, kind = mutation
        kinds[kind] += 1
        response = host.post("api/requests", data=json.dumps(body).encode(), headers={"Content-Type": JSON})
        assert response.status_code == 400, (kind, body, response.status_code, response.text[:300])
        assert media_type(response) == PROBLEM_JSON
        assert field in fields_of(response.json()), (kind, body, response.json())

    @settings(max_examples=MUTATION_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(valid)
    def bases_are_valid(body: dict[str, Any]) -> None:
        parse_request(json.dumps(body).encode(), settings=local, new_id=lambda: "x")  # raises if it is not

    bases_are_valid()  # the guard: without its mutation, each body would be accepted (checked offline)
    ran = fuzz(mutated(valid), MUTATION_EXAMPLES, check)
    after = Snapshot.take(stack)
    assert after == before, "a mutated request started, read or changed something"
    assert len(kinds) == 10
    with capsys.disabled():
        print(f"\nfuzz: {ran} mutated valid requests (real resource), all 400 naming the mutated field: "
              f"{dict(sorted(kinds.items()))}")


def test_the_fuzzed_stack_does_accept_a_valid_request(stack: SecurityStack) -> None:
    """The control: the refusals above are the validator's doing, not a broken stack. Runs after the fuzzing."""
    before = Snapshot.take(stack)
    body = {"operation": "export", "resource": ALIAS, "categories": ["projects"], "requestId": "fuzz-control"}
    response = stack.devhost.post("api/requests", json=body)
    assert response.status_code == 202, response.text
    started = instance_ids(stack.devhost) - before.instances
    assert "fuzz-control" in started and all(i == "fuzz-control" or i.startswith("fuzz-control--") for i in started)
    assert Snapshot.take(stack).emulator_state == before.emulator_state  # an export only reads
