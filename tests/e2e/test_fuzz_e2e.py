"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis), over real HTTP.

The document is read from the running app (`GET /api/openapi.json`), so what is fuzzed is what is served.
Generation is derandomized with a fixed number of examples per operation, so CI sees the same cases
on every run; the test prints how many it sent.

Why no generated body can delete anything: the app under test has exactly one resource, under a random
alias the generator cannot know (`default` is not configured). A delete must name a configured resource
and repeat it in `confirm`, so every generated body - schema-valid ("positive") or not ("negative") - is
refused, and the emulator's data must come out unchanged. The positive bodies still earn their place:
each must be refused for `/resource` alone, which shows the schema and the validator agree.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from localstack.azurite import Azurite
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
AUTH_EXAMPLES = 30  # POST with the generator's own (wrong or missing) credentials
SCHEMA_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def stack(azurite: Azurite) -> Iterator[SecurityStack]:
    resource = {"endpoint": "{emulator}", "trainingKeySetting": "CUSTOMVISION_TRAINING_KEY", "tps": 1000}
    settings = {"CUSTOMVISION_ENDPOINT": "", "CUSTOMVISION_RESOURCES": json.dumps({ALIAS: resource})}
    with security_stack("fuzz", azurite, settings=settings) as running:
        yield running


def media_type(response: requests.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


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
        else:  # only the host's router may answer without a problem (a '/' in a decoded path id)
            assert (path, mode, response.status_code, response.content) == ("/requests/{id}", NEGATIVE, 404, b"")
            return
        if method == "POST":
            assert response.status_code in (400, 413, 415), response.status_code
            fields = fields_of(problem)
            assert fields and all(isinstance(f, str) for f in fields), problem
            if mode is POSITIVE:  # schema-valid: refused only because no generated alias is configured
                assert "/resource" in fields, (case.body, problem)
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


def test_the_fuzzed_stack_does_accept_a_valid_request(stack: SecurityStack) -> None:
    """The control: the refusals above are the validator's doing, not a broken stack. Runs after the fuzzing."""
    before = Snapshot.take(stack)
    body = {"operation": "export", "resource": ALIAS, "categories": ["projects"], "requestId": "fuzz-control"}
    response = stack.devhost.post("api/requests", json=body)
    assert response.status_code == 202, response.text
    started = instance_ids(stack.devhost) - before.instances
    assert "fuzz-control" in started and all(i == "fuzz-control" or i.startswith("fuzz-control--") for i in started)
    assert Snapshot.take(stack).emulator_state == before.emulator_state  # an export only reads
