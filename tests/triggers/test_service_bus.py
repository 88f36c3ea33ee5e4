"""The Service Bus trigger at the SDK boundaries: a real ServiceBusMessage in, the real settlement client out.

No broker runs here, so the settlement client's gRPC stub is replaced by one that records the protobuf
requests `ServiceBusMessageActions` sends the host: exactly what would reach Service Bus.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azurefunctions.extensions.bindings.servicebus import ServiceBusMessageActions

from devhost.admin import service_bus_message
from dsr.names import DATA_REQUEST_ORCHESTRATOR
from dsr.servicebus import CONFLICT_REASON, INVALID_REASON, InvalidMessageError
from triggers import service_bus

ENV = {"CUSTOMVISION_ENDPOINT": "http://127.0.0.1:1", "CUSTOMVISION_TRAINING_KEY": "sb-test-key-3f9a",
       "CUSTOMVISION_RESOURCES": "{}"}
EXPORT = {"operation": "export", "categories": ["tags"]}


class RecordingSettlementStub:
    """Stands in for the generated SettlementStub: keeps each request message, as the host would receive it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, method: str) -> Any:
        return lambda request: self.calls.append((method, request))


def message_actions() -> tuple[ServiceBusMessageActions, RecordingSettlementStub]:
    """The real client class with its channel swapped (its constructor dials the host's gRPC endpoint)."""
    actions = ServiceBusMessageActions.__new__(ServiceBusMessageActions)
    stub = RecordingSettlementStub()
    actions._client = stub  # type: ignore[assignment]
    return actions, stub


class FakeDurableClient:
    """The two Durable client calls the trigger makes, instances in a dict."""

    def __init__(self, *, fail_start: bool = False) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.started: list[tuple[str, str | None, Any]] = []
        self.fail_start = fail_start

    async def start_new(self, name: str, instance_id: str | None = None, client_input: Any = None) -> str:
        if self.fail_start:
            raise ConnectionError("task hub unavailable")
        assert instance_id is not None
        self.started.append((name, instance_id, client_input))
        self.instances[instance_id] = {"name": name, "instanceId": instance_id, "runtimeStatus": "Pending",
                                       "createdTime": "2026-11-22T15:00:00Z",
                                       "input": json.dumps(client_input)}
        return instance_id

    async def get_status(self, instance_id: str, show_input: bool = False, **_: Any) -> DurableOrchestrationStatus:
        found = self.instances.get(instance_id)
        return DurableOrchestrationStatus.from_json(dict(found) if found else "")


def user_function(function: Any) -> Any:
    code = function.build().get_user_function()
    return getattr(code, "client_function", code)


def deliver(client: FakeDurableClient, body: Any, *, actions: ServiceBusMessageActions | None, **fields: Any) -> Any:
    message = service_bus_message({"input": body, **fields})
    run = user_function(service_bus.service_bus_request)
    asyncio.run(run(msg=message, client=client, message_actions=actions))
    return message


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_binding_settles_explicitly_on_the_configured_queue() -> None:
    bindings = json.loads(service_bus.service_bus_request.build().get_function_json())["bindings"]
    trigger = next(b for b in bindings if b["type"] == "serviceBusTrigger")
    assert trigger["name"] == "msg" and trigger["connection"] == "SERVICEBUS_CONNECTION"
    assert trigger["autoCompleteMessages"] is False
    assert trigger["queueName"] in ("dsr-requests", "%SERVICEBUS_QUEUE%")
    assert {"type": "durableClient", "name": "client", "direction": "IN"} in bindings


def test_a_valid_message_starts_its_request_and_is_completed() -> None:
    client, (actions, stub) = FakeDurableClient(), message_actions()
    message = deliver(client, {**EXPORT, "requestId": "case-sb-1"}, actions=actions, messageId="m-1")
    (name, instance_id, started), = client.started
    assert (name, instance_id) == (DATA_REQUEST_ORCHESTRATOR, "case-sb-1")
    assert started["request"]["categories"] == ["tags"]
    assert [(m, r.locktoken) for m, r in stub.calls] == [("Complete", message.lock_token)]


def test_the_message_id_is_the_request_id_so_redeliveries_start_nothing() -> None:
    client, (actions, stub) = FakeDurableClient(), message_actions()
    for delivery in (1, 2, 3):
        deliver(client, EXPORT, actions=actions, messageId="order-42", deliveryCount=delivery)
    assert [instance_id for _, instance_id, _ in client.started] == ["order-42"]
    assert [m for m, _ in stub.calls] == ["Complete", "Complete", "Complete"]


def test_an_invalid_message_is_dead_lettered_with_the_validation_error(caplog: pytest.LogCaptureFixture) -> None:
    client, (actions, stub) = FakeDurableClient(), message_actions()
    body = {"operation": "delete", "dryrun": True, "confirm": "default", "projects": ["sb-secret-project-name"]}
    with caplog.at_level(logging.INFO):
        message = deliver(client, body, actions=actions, messageId="m-bad")
    assert client.started == []
    (method, request), = stub.calls
    assert method == "Deadletter" and request.locktoken == message.lock_token
    assert request.deadletterReason.value == INVALID_REASON
    description = request.deadletterErrorDescription.value
    assert "/dryrun: unknown field; did you mean 'dryRun'?" in description and "/projects/0:" in description
    assert "m-bad" in caplog.text and "/dryrun" in caplog.text
    assert "sb-secret-project-name" not in caplog.text  # logs name fields, never body values


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("not json", "(body): the body is not valid JSON"),
        ({"operation": "export", "resource": "elsewhere"}, "/resource: 'elsewhere' is not a configured resource"),
        ({"operation": "delete"}, "/confirm: is required for delete"),
    ],
)
def test_every_kind_of_invalid_message_is_dead_lettered(body: Any, expected: str) -> None:
    client, (actions, stub) = FakeDurableClient(), message_actions()
    deliver(client, body, actions=actions, messageId="m-x")
    assert client.started == []
    (method, request), = stub.calls
    assert method == "Deadletter" and expected in request.deadletterErrorDescription.value


def test_a_request_id_taken_by_another_request_is_dead_lettered() -> None:
    client, (actions, stub) = FakeDurableClient(), message_actions()
    deliver(client, {**EXPORT, "requestId": "case-7"}, actions=actions, messageId="m-1")
    deliver(client, {"operation": "export", "requestId": "case-7"}, actions=actions, messageId="m-2")
    assert len(client.started) == 1
    method, request = stub.calls[-1]
    assert method == "Deadletter" and request.deadletterReason.value == CONFLICT_REASON


def test_a_failure_to_start_is_abandoned_and_raised_so_the_broker_retries() -> None:
    client, (actions, stub) = FakeDurableClient(fail_start=True), message_actions()
    with pytest.raises(ConnectionError):
        deliver(client, EXPORT, actions=actions, messageId="m-1")
    assert [m for m, _ in stub.calls] == ["Abandon"]


def test_without_a_settlement_client_an_invalid_message_raises_for_the_broker_to_dead_letter() -> None:
    client = FakeDurableClient()
    with pytest.raises(InvalidMessageError) as info:
        deliver(client, {"operation": "export", "confirm": "default"}, actions=None, messageId="m-1")
    assert info.value.reason == INVALID_REASON
    assert "/confirm: only allowed when operation is delete" in info.value.description
    assert client.started == []
    deliver(client, EXPORT, actions=None, messageId="m-2")  # a valid one needs nothing settled by us
    assert [i for _, i, _ in client.started] == ["m-2"]
