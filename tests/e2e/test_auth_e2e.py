"""Auth end to end: the function key on every route, one request's status never answering for another,
and the manifest SAS link: read-only, one blob, expiring (DESIGN.md §3). The function key opens the API and
nothing else (Durable webhooks need the system or master key, /admin the master key, as on Azure), and no
answer of the API hands out a Durable webhook URL (they carry the system key)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.storage.blob import ContainerClient

from localrun.azurite import Azurite
from tests.e2e.helpers import wait_finished
from tests.e2e.security import INSTANCES, SecurityStack, Snapshot, problem_of, security_stack

pytestmark = [pytest.mark.e2e]

SAS_HOURS = 0.003  # 10.8 s: long enough to use a fresh link, short enough to watch it expire
CONTAINER = "sec-auth"
A, A_UPPER, B = "auth-a", "AUTH-A", "auth-b"  # A_UPPER differs from A by case only


@pytest.fixture(scope="module")
def stack(azurite: Azurite) -> Iterator[SecurityStack]:
    settings = {"EXPORT_SAS_VALIDITY_HOURS": str(SAS_HOURS)}
    with security_stack("auth", azurite, container=CONTAINER, settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def projects(stack: SecurityStack) -> list[str]:
    return [p["id"] for p in stack.emulator.state()["projects"]]


@pytest.fixture(scope="module")
def finished(stack: SecurityStack, projects: list[str]) -> dict[str, dict[str, Any]]:
    """Three requests run to completion: two exports whose ids differ only by case, and a real delete."""
    host = stack.devhost
    bodies = {
        A: {"operation": "export", "requestId": A, "projects": [projects[0]], "categories": ["projects", "tags"]},
        A_UPPER: {"operation": "export", "requestId": A_UPPER, "projects": [projects[0]], "categories": ["images"]},
        B: {"operation": "delete", "requestId": B, "projects": [projects[1]], "confirm": "default"},
    }
    for body in bodies.values():
        response = host.post("api/requests", json=body)
        assert response.status_code == 202, response.text
    statuses = {rid: wait_finished(host, rid, timeout=120) for rid in bodies}
    assert all(s["status"] == "Completed" for s in statuses.values()), statuses
    return statuses


# --- the function key ---------------------------------------------------------------------------------

ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "api/requests", {"operation": "export", "requestId": "auth-nokey", "categories": ["projects"]}),
    ("GET", f"api/requests/{A}", None),
    ("DELETE", f"api/requests/{A}", None),
    ("GET", "api/openapi.json", None),
    ("GET", INSTANCES, None),
    ("GET", f"{INSTANCES}/{A}", None),
    ("DELETE", f"{INSTANCES}/{A}", None),
    ("DELETE", INSTANCES, None),
    ("POST", f"{INSTANCES}/{A}/terminate", None),
    ("POST", f"{INSTANCES}/{A}/raiseEvent/x", {}),
    ("POST", f"{INSTANCES}/{A}/suspend", None),
    ("POST", "runtime/webhooks/durabletask/orchestrators/data_request/auth-nokey2",
     {"request": {"operation": "delete", "requestId": "auth-nokey2", "resource": "default"}}),
    ("POST", "admin/functions/housekeeping", {"input": None}),
    ("POST", "admin/functions/no_such_function", {}),
    ("GET", "admin/host/status", None),
]


def bad_credentials(key: str) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """name -> (headers, query): no key, wrong keys in both places, near misses, the key in the wrong header."""
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    return {
        "none": ({}, {}),
        "wrong-header": ({"x-functions-key": "wrong"}, {}),
        "wrong-code": ({}, {"code": "wrong"}),
        "empty-header": ({"x-functions-key": ""}, {}),
        "empty-code": ({}, {"code": ""}),
        "last-char-changed": ({"x-functions-key": flipped}, {}),
        "prefix": ({}, {"code": key[:-1]}),
        "suffix": ({"x-functions-key": key + "x"}, {}),
        "case-swapped": ({}, {"code": key.swapcase()}),
        "bearer": ({"Authorization": f"Bearer {key}"}, {}),
        "other-header-name": ({"x-function-key": key}, {}),
    }


CREDENTIALS = list(bad_credentials("k" * 8))


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize(("method", "path", "payload"), [pytest.param(*r, id=f"{r[0]} {r[1]}") for r in ROUTES])
def test_every_route_refuses_a_missing_or_wrong_key(
    stack: SecurityStack, finished: dict[str, Any], method: str, path: str, payload: Any, credential: str
) -> None:
    before = Snapshot.take(stack)
    headers, query = bad_credentials(stack.function_key)[credential]
    response = requests.request(method, stack.devhost.url(path), headers=headers, params=query,
                                json=payload, timeout=30)
    assert response.status_code == 401, (response.status_code, response.text[:300])
    assert stack.function_key not in response.text
    assert Snapshot.take(stack) == before  # nothing started, terminated, purged or deleted


@pytest.mark.parametrize("where", ["header", "code"])
def test_the_right_key_works_in_the_header_and_the_code_parameter(
    stack: SecurityStack, finished: dict[str, Any], where: str
) -> None:
    """The control for the refusals above: the function key opens the API, the master key the webhooks."""
    for key, paths in ((stack.function_key, (f"api/requests/{A}", "api/openapi.json")),
                       (stack.devhost.master_key, (INSTANCES, f"api/requests/{A}"))):
        headers, query = ({"x-functions-key": key}, {}) if where == "header" else ({}, {"code": key})
        for path in paths:
            response = requests.get(stack.devhost.url(path), headers=headers, params=query, timeout=30)
            assert response.status_code == 200, (path, response.text[:300])


OPERATOR_ROUTES = [r for r in ROUTES if not r[1].startswith("api/")]


@pytest.mark.parametrize(("method", "path", "payload"),
                         [pytest.param(*r, id=f"{r[0]} {r[1]}") for r in OPERATOR_ROUTES])
def test_the_function_key_does_not_open_the_webhooks_or_the_admin_api(
    stack: SecurityStack, finished: dict[str, Any], method: str, path: str, payload: Any
) -> None:
    before = Snapshot.take(stack)
    response = requests.request(method, stack.devhost.url(path), headers={"x-functions-key": stack.function_key},
                                json=payload, timeout=30)
    assert response.status_code == 401, (response.status_code, response.text[:300])
    assert Snapshot.take(stack) == before


def test_no_api_answer_hands_out_a_durable_webhook_url_or_another_key(
    stack: SecurityStack, finished: dict[str, Any]
) -> None:
    """DESIGN.md §3: 202 {"id", "statusUri"} and Location point to GET /api/requests/{id}; on Azure the
    check-status URLs would carry the durabletask system key, which can terminate or purge any instance."""
    host = stack.devhost
    body = {"operation": "export", "requestId": A, "projects": [stack.emulator.state()["projects"][0]["id"]],
            "categories": ["projects", "tags"]}
    again = host.post("api/requests", json=body)  # the same request again: its existing run
    assert again.status_code == 202, again.text
    assert again.json() == {"id": A, "statusUri": host.url(f"api/requests/{A}")}
    assert again.headers["Location"] == again.json()["statusUri"]
    answers = [again, host.get(f"api/requests/{A}"), host.get(f"api/requests/{B}"), host.delete(f"api/requests/{A}"),
               host.get("api/openapi.json")]
    system_key = json.loads((host.state_dir / "keys.json").read_text())["systemKey"]
    for answer in answers:
        text = answer.text + json.dumps(dict(answer.headers))
        assert "webhooks" not in text and "statusQueryGetUri" not in text
        assert system_key not in text and host.master_key not in text and stack.function_key not in text


# --- one request, one id ------------------------------------------------------------------------------


def test_each_status_shows_only_its_own_request(
    stack: SecurityStack, finished: dict[str, Any], projects: list[str]
) -> None:
    host = stack.devhost
    mine: dict[str, set[str] | None] = {A: {"projects", "tags"}, A_UPPER: {"images"}, B: None}  # None: the delete
    for request_id, categories in mine.items():
        status = host.get(f"api/requests/{request_id}").json()
        text = json.dumps(status)
        assert status["requestId"] == request_id
        others = [other for other in mine if other != request_id]
        assert not any(f'"{other}' in text or f"/{other}/" in text for other in others), (request_id, text)
        result = status["result"]
        if categories is not None:  # the exports: own categories, own manifest, no receipt
            assert status["operation"] == "export" and set(result["categories"]) == categories
            assert urlsplit(result["manifestUrl"]).path == f"/devstoreaccount1/{CONTAINER}/{request_id}/manifest.json"
            assert result["receipt"] is None
            assert projects[1] not in text  # the delete's project
        else:  # the delete: its receipt, no manifest link, nothing of the exports
            assert status["operation"] == "delete" and result["manifestUrl"] is None
            assert result["receipt"]["requestId"] == B
            assert projects[0] not in text


NEAR_MISSES = ["Auth-a", "auth-A", "AUTH-a", "auth-a ", "auth-a_", "auth", "auth-b-", "AUTH-B"]


@pytest.mark.parametrize("request_id", NEAR_MISSES)
def test_near_miss_ids_are_404(stack: SecurityStack, finished: dict[str, Any], request_id: str) -> None:
    problem_of(stack.devhost.get(f"api/requests/{request_id}"), 404)


def test_receipts_are_per_request(stack: SecurityStack, finished: dict[str, Any], azurite: Azurite) -> None:
    """The delete's receipt blob is its own; the exports have none, and no receipt holds another request's id."""
    container = ContainerClient.from_connection_string(azurite.connection_string, CONTAINER)
    receipts = {b.name for b in container.list_blobs(name_starts_with="receipts/")}
    assert receipts == {f"receipts/{B}.json", f"receipts/{B}.html"}  # the receipt and its summary page
    receipt = json.loads(container.download_blob(f"receipts/{B}.json").readall())
    assert receipt["requestId"] == B
    assert A not in json.dumps(receipt) and A_UPPER not in json.dumps(receipt)


def test_a_sub_orchestration_is_not_readable_as_a_request(
    stack: SecurityStack, finished: dict[str, Any], projects: list[str]
) -> None:
    for separator in (":", "--"):
        problem_of(stack.devhost.get(f"api/requests/{A}{separator}{projects[0]}"), 404)


def test_a_request_id_cannot_squat_another_requests_sub_orchestration(
    stack: SecurityStack, finished: dict[str, Any], projects: list[str]
) -> None:
    host = stack.devhost
    squatter = {"operation": "export", "requestId": f"sq--{projects[0]}", "projects": [projects[0]],
                "categories": ["tags"]}
    victim = {"operation": "export", "requestId": "sq", "projects": [projects[0]], "categories": ["tags"]}
    responses = [host.post("api/requests", json=body) for body in (squatter, victim)]
    assert all(r.status_code in (202, 400) for r in responses), [r.text for r in responses]
    if responses[1].status_code == 202:
        status = wait_finished(host, "sq", timeout=120)
        assert status["result"]["categories"]["tags"]["status"] == "complete", status["result"]


# --- the manifest link ----------------------------------------------------------------------------------


def fresh_link(stack: SecurityStack, request_id: str) -> str:
    url = stack.devhost.get(f"api/requests/{request_id}").json()["result"]["manifestUrl"]
    assert isinstance(url, str) and "sig=" in url
    return url


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{path}?{parts.query}"


def test_the_manifest_link_reads_that_manifest_and_nothing_else(
    stack: SecurityStack, finished: dict[str, Any], azurite: Azurite
) -> None:
    url = fresh_link(stack, A)
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and query["sr"] == ["b"], query  # read, one blob
    start, expiry = (datetime.fromisoformat(query[k][0].replace("Z", "+00:00")) for k in ("st", "se"))
    assert 0 < (expiry - datetime.now(UTC)).total_seconds() <= SAS_HOURS * 3600 + 5
    assert (expiry - start).total_seconds() <= SAS_HOURS * 3600 + 5 * 60 + 1  # + the documented clock skew

    read = requests.get(url, timeout=30)
    assert read.status_code == 200, read.text[:300]
    assert json.loads(read.content)["requestId"] == A
    manifest = read.content

    container = f"/devstoreaccount1/{CONTAINER}"
    refused = {
        "put": requests.put(url, data=b"{}", headers={"x-ms-blob-type": "BlockBlob"}, timeout=30),
        "delete": requests.delete(url, timeout=30),
        "metadata": requests.put(url + "&comp=metadata", headers={"x-ms-meta-a": "b"}, timeout=30),
        "snapshot": requests.put(url + "&comp=snapshot", timeout=30),
        "other request's manifest": requests.get(with_path(url, f"{container}/{A_UPPER}/manifest.json"), timeout=30),
        "other file of the request": requests.get(with_path(url, f"{container}/{A}/index.html"), timeout=30),
        "receipts": requests.get(with_path(url, f"{container}/receipts/{B}.json"), timeout=30),
        "container listing": requests.get(with_path(url, container) + "&restype=container&comp=list", timeout=30),
        "other container": requests.get(with_path(url, f"/devstoreaccount1/other/{A}/manifest.json"), timeout=30),
    }
    assert {name: r.status_code for name, r in refused.items()} == {name: 403 for name in refused}
    blob = ContainerClient.from_connection_string(azurite.connection_string, CONTAINER).download_blob(
        f"{A}/manifest.json")
    assert blob.readall() == manifest  # the refused writes changed nothing


def test_the_manifest_link_expires(stack: SecurityStack, finished: dict[str, Any]) -> None:
    url = fresh_link(stack, A_UPPER)
    assert requests.get(url, timeout=30).status_code == 200
    expiry = datetime.fromisoformat(parse_qs(urlsplit(url).query)["se"][0].replace("Z", "+00:00"))
    wait = (expiry - datetime.now(UTC)).total_seconds() + 1.5
    assert 0 < wait <= SAS_HOURS * 3600 + 2
    time.sleep(wait)
    expired = requests.get(url, timeout=30)
    assert expired.status_code == 403, expired.text[:300]
