"""The HTTP API through its decorated functions: a real HttpRequest, a fake Durable client at the SDK boundary."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from dsr import intake
from dsr.names import DATA_REQUEST_ORCHESTRATOR
from dsr.problems import CONTENT_TYPE
from dsr.request import REQUEST_SCHEMA
from tests.triggers.bindings import user_function
from triggers import http_api

P1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
HUB = "http://127.0.0.1:7071/runtime/webhooks/durabletask"
BINDING = {
    "taskHubName": "hub",
    "creationUrls": {},
    "managementUrls": {
        "id": "INSTANCEID",
        "statusQueryGetUri": f"{HUB}/instances/INSTANCEID?taskHub=hub&connection=Storage&code=KEY",
        "sendEventPostUri": f"{HUB}/instances/INSTANCEID/raiseEvent/{{eventName}}?code=KEY",
        "terminatePostUri": f"{HUB}/instances/INSTANCEID/terminate?reason={{text}}&code=KEY",
        "purgeHistoryDeleteUri": f"{HUB}/instances/INSTANCEID?code=KEY",
    },
    "baseUrl": HUB,
    "requiredQueryStringParameters": "code=KEY",
    "rpcBaseUrl": "http://127.0.0.1:17071/durabletask/",
}


class FakeDurableClient:
    """Stands in for DurableOrchestrationClient: the four calls the API makes, instances kept in a dict."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.started: list[tuple[str, str | None, Any]] = []
        self.terminated: list[tuple[str, str]] = []
        self._real = df.DurableOrchestrationClient(json.dumps(BINDING))  # its check-status response is pure

    async def start_new(self, name: str, instance_id: str | None = None, client_input: Any = None) -> str:
        self.started.append((name, instance_id, client_input))
        assert instance_id is not None
        self.instances[instance_id] = {
            "name": name,
            "instanceId": instance_id,
            "runtimeStatus": "Pending",
            "createdTime": "2026-11-22T15:00:00Z",
            "lastUpdatedTime": "2026-11-22T15:00:00Z",
            "input": json.dumps(client_input),  # the host hands inputs back as JSON text
        }
        return instance_id

    async def get_status(self, instance_id: str, show_history: bool = False, show_history_output: bool = False,
                         show_input: bool = False) -> DurableOrchestrationStatus:
        found = self.instances.get(instance_id)
        if found is None:
            return DurableOrchestrationStatus.from_json("")  # what the SDK returns on 404
        status = dict(found)
        if not show_input:
            status.pop("input", None)
        return DurableOrchestrationStatus.from_json(status)

    async def terminate(self, instance_id: str, reason: str) -> None:
        self.terminated.append((instance_id, reason))

    def create_check_status_response(self, request: func.HttpRequest, instance_id: str) -> func.HttpResponse:
        return self._real.create_check_status_response(request, instance_id)


def post(client: FakeDurableClient, body: Any, content_type: str = "application/json") -> func.HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = func.HttpRequest("POST", "http://127.0.0.1:7071/api/requests", body=raw,
                           headers={"Content-Type": content_type})
    return asyncio.run(user_function(http_api.submit_request)(req, client))


def get(client: FakeDurableClient, request_id: str) -> func.HttpResponse:
    req = func.HttpRequest("GET", f"http://127.0.0.1:7071/api/requests/{request_id}", body=b"",
                           route_params={"id": request_id})
    return asyncio.run(user_function(http_api.get_request)(req, client))


def delete(client: FakeDurableClient, request_id: str) -> func.HttpResponse:
    req = func.HttpRequest("DELETE", f"http://127.0.0.1:7071/api/requests/{request_id}", body=b"",
                           route_params={"id": request_id})
    return asyncio.run(user_function(http_api.cancel_request)(req, client))


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMVISION_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("CUSTOMVISION_TRAINING_KEY", "training-key-never-shown")
    monkeypatch.setenv("CUSTOMVISION_RESOURCES", json.dumps({"eu-prod": {"endpoint": "http://127.0.0.1:9"}}))
    monkeypatch.delenv("EXPORT_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("EXPORT_STORAGE_ACCOUNT_URL", raising=False)


def problem_of(response: func.HttpResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == CONTENT_TYPE
    body = json.loads(response.get_body())
    assert body["status"] == status and body["title"]
    return body


# --- POST /api/requests ---


def test_post_starts_the_orchestration_and_answers_with_its_own_status_link() -> None:
    """DESIGN.md §3: 202 `{"id", "statusUri"}` + Location, both GET /api/requests/{id}; never the Durable
    check-status payload, whose URLs carry the durabletask system key (it can terminate or purge anything)."""
    client = FakeDurableClient()
    response = post(client, {"operation": "export", "requestId": "case-1", "projects": [P1]})
    assert response.status_code == 202
    payload = json.loads(response.get_body())
    assert payload == {"id": "case-1", "statusUri": "http://127.0.0.1:7071/api/requests/case-1"}
    assert response.headers["Location"] == payload["statusUri"]
    assert "KEY" not in response.get_body().decode() and "webhooks" not in response.get_body().decode()
    ((name, instance_id, started_input),) = client.started
    assert (name, instance_id) == (DATA_REQUEST_ORCHESTRATOR, "case-1") == ("data_request", "case-1")
    assert started_input["request"]["projects"] == [P1]
    assert started_input["receivedAt"].endswith("Z")


def test_post_without_request_id_generates_one() -> None:
    client = FakeDurableClient()
    payload = json.loads(post(client, {"operation": "export"}).get_body())
    assert client.started[0][1] == payload["id"] and len(payload["id"]) == 36


def test_same_request_twice_runs_once() -> None:
    client = FakeDurableClient()
    body = {"operation": "delete", "requestId": "case-2", "confirm": "default", "categories": ["images", "tags"]}
    assert post(client, body).status_code == 202
    again = post(client, {**body, "categories": ["tags", "images"]})
    assert again.status_code == 202 and json.loads(again.get_body())["id"] == "case-2"
    assert len(client.started) == 1


def test_same_request_id_different_body_is_409() -> None:
    client = FakeDurableClient()
    post(client, {"operation": "delete", "requestId": "case-3", "dryRun": True})
    body = problem_of(post(client, {"operation": "delete", "requestId": "case-3", "confirm": "default"}), 409)
    assert body["errors"] == [{"field": "/requestId", "reason": body["errors"][0]["reason"]}]
    assert len(client.started) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"operation": "delete", "confirm": "default", "dryrun": True}, "/dryrun"),
        ({"operation": "delete", "dryRun": "yes"}, "/dryRun"),
        ({"operation": "delete"}, "/confirm"),
        ({"operation": "export", "resource": "nope"}, "/resource"),
        ({"operation": "export", "requestId": "../x"}, "/requestId"),
        ({"operation": "export", "projects": [P1, P1]}, "/projects/1"),
        (b"[1, 2]", ""),
        (b"{", ""),
    ],
)
def test_bad_input_is_400_naming_the_field_and_starts_nothing(body: Any, field: str) -> None:
    client = FakeDurableClient()
    problem = problem_of(post(client, body), 400)
    assert field in [e["field"] for e in problem["errors"]]
    assert client.started == []


def test_oversized_body_is_413() -> None:
    client = FakeDurableClient()
    body = b'{"operation": "export", "requestId": "' + b"x" * (64 * 1024) + b'"}'
    problem_of(post(client, body), 413)
    assert client.started == []


def test_problems_never_echo_the_training_key() -> None:
    client = FakeDurableClient()
    response = post(client, {"operation": "export", "resource": "nope"})
    assert b"training-key-never-shown" not in response.get_body()


# --- GET /api/requests/{id} ---


def test_get_unknown_is_404() -> None:
    problem_of(get(FakeDurableClient(), "nope"), 404)
    problem_of(get(FakeDurableClient(), "..%2Fx"), 404)


def test_get_returns_status_progress_and_due_date() -> None:
    client = FakeDurableClient()
    post(client, {"operation": "export", "requestId": "case-4", "categories": ["tags"]})
    client.instances["case-4"].update(
        runtimeStatus="Running", customStatus={"phase": "exporting", "progress": {"tags": {"done": 1, "total": 2}}}
    )
    response = get(client, "case-4")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = json.loads(response.get_body())
    assert body["requestId"] == "case-4" and body["status"] == "Running" and body["operation"] == "export"
    assert body["progress"] == {"tags": {"done": 1, "total": 2}}
    assert body["dueDate"] is not None and body["result"] is None
    assert "training-key-never-shown" not in response.get_body().decode()


# --- DELETE /api/requests/{id} ---


def test_delete_terminates_a_running_request() -> None:
    client = FakeDurableClient()
    post(client, {"operation": "export", "requestId": "case-5"})
    response = delete(client, "case-5")
    assert response.status_code == 202
    assert [i for i, _ in client.terminated] == ["case-5"]


def test_delete_a_finished_request_is_409_and_unknown_is_404() -> None:
    client = FakeDurableClient()
    post(client, {"operation": "export", "requestId": "case-6"})
    client.instances["case-6"]["runtimeStatus"] = "Completed"
    problem_of(delete(client, "case-6"), 409)
    problem_of(delete(client, "nope"), 404)
    assert client.terminated == []


# --- GET /api/openapi.json ---


def test_openapi_document_holds_the_validators_schema() -> None:
    req = func.HttpRequest("GET", "http://127.0.0.1:7071/api/openapi.json", body=b"")
    response = user_function(http_api.openapi_spec)(req)
    assert response.status_code == 200
    document = json.loads(response.get_body())
    assert document["openapi"].startswith("3.1")
    assert document["components"]["schemas"]["DataRequest"] == REQUEST_SCHEMA
    assert set(document["paths"]) == {"/requests", "/requests/{id}", "/openapi.json"}


# --- thin bindings ---


def test_each_decorated_function_delegates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every binding returns exactly what its plain function decided (and passes it the request's values)."""
    calls: list[tuple[str, Any]] = []

    async def fake_submit(body: bytes, **kwargs: Any) -> intake.Reply:
        calls.append(("submit", body))
        return intake.Reply(418, body={"from": "submit"})

    async def fake_lookup(request_id: str, **kwargs: Any) -> intake.Reply:
        calls.append(("lookup", request_id))
        return intake.Reply(418, body={"from": "lookup"})

    async def fake_cancel(request_id: str, **kwargs: Any) -> intake.Reply:
        calls.append(("cancel", request_id))
        return intake.Reply(418, body={"from": "cancel"}, headers={"X-Test": "1"})

    monkeypatch.setattr(intake, "submit", fake_submit)
    monkeypatch.setattr(intake, "lookup", fake_lookup)
    monkeypatch.setattr(intake, "cancel", fake_cancel)
    client = FakeDurableClient()
    for response, name in ((post(client, b"raw"), "submit"), (get(client, "a1"), "lookup"),
                           (delete(client, "a2"), "cancel")):
        assert response.status_code == 418
        assert json.loads(response.get_body()) == {"from": name}
    assert calls == [("submit", b"raw"), ("lookup", "a1"), ("cancel", "a2")]
    assert client.started == [] and client.terminated == []


def test_bindings_routes_methods_and_auth() -> None:
    app = df.DFApp()
    app.register_functions(http_api.bp)
    functions = {f.get_function_name(): f for f in app.get_functions()}
    expected = {
        "submit_request": ("requests", ["POST"]),
        "get_request": ("requests/{id}", ["GET"]),
        "cancel_request": ("requests/{id}", ["DELETE"]),
        "openapi_spec": ("openapi.json", ["GET"]),
    }
    assert set(functions) == set(expected)
    for name, (route, methods) in expected.items():
        trigger = next(b for b in functions[name].get_bindings() if b.type == "httpTrigger")
        assert trigger.route == route
        assert [str(m.value if hasattr(m, "value") else m) for m in trigger.methods] == methods
        assert str(getattr(trigger.auth_level, "value", trigger.auth_level)).lower() == "function"


def test_function_app_registers_the_api() -> None:
    import function_app

    registered = {id(builder) for builder in function_app.app._function_builders}
    assert all(id(builder) in registered for builder in http_api.bp._function_builders)


# --- answers match the OpenAPI document ---


def conforms(body: Any, schema_name: str) -> None:
    from jsonschema import Draft202012Validator

    document = json.loads(user_function(http_api.openapi_spec)(
        func.HttpRequest("GET", "http://127.0.0.1:7071/api/openapi.json", body=b"")).get_body())
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    Draft202012Validator(schema).validate(body)


def test_answers_conform_to_the_openapi_document() -> None:
    client = FakeDurableClient()
    conforms(json.loads(post(client, {"operation": "export", "requestId": "c7"}).get_body()), "Accepted")
    conforms(json.loads(post(client, {"operation": "nope"}).get_body()), "Problem")
    conforms(json.loads(get(client, "missing").get_body()), "Problem")
    output = {"status": "completed", "categories": {"tags": {"status": "complete", "count": 1, "error": None}},
              "manifestPath": None, "missingProjects": [P1]}
    client.instances["c7"].update(runtimeStatus="Completed", output=output)
    conforms(json.loads(get(client, "c7").get_body()), "RequestStatus")


def test_post_without_a_json_content_type_is_415_and_starts_nothing() -> None:
    client = FakeDurableClient()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        response = post(client, {"operation": "export"}, content_type)
        assert response.status_code == 415 and response.mimetype == "application/problem+json"
    assert client.started == []
    assert post(client, {"operation": "export"}, "application/json; charset=utf-8").status_code == 202
