"""The Service Bus trigger at the SDK boundaries: a real ServiceBusMessage in, the host's settlement out.

The host settles (autoCompleteMessages): the trigger completes by returning and refuses an invalid message by
raising `InvalidMessageError`, which fails each delivery until the broker dead-letters it (MaxDeliveryCount).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from devhost.admin import service_bus_message
from dsr.names import DATA_REQUEST_ORCHESTRATOR
from dsr.servicebus import CONFLICT_REASON, INVALID_REASON, InvalidMessageError
from tests.triggers.bindings import user_function
from triggers import service_bus

ENV = {"CUSTOMVISION_ENDPOINT": "http://127.0.0.1:1", "CUSTOMVISION_TRAINING_KEY": "sb-test-key-3f9a",
       "CUSTOMVISION_RESOURCES": "{}"}
EXPORT = {"operation": "export", "categories": ["tags"]}


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


def deliver(client: FakeDurableClient, body: Any, **fields: Any) -> Any:
    message = service_bus_message({"input": body, **fields})
    run = user_function(service_bus.service_bus_request)
    asyncio.run(run(msg=message, client=client))
    return message


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_the_host_settles_and_the_function_takes_only_its_bindings() -> None:
    """No `message_actions` parameter: the worker refuses a parameter that is not a binding (see devhost's
    indexing), and Python message settlement is not supported per Microsoft's docs."""
    function = service_bus.service_bus_request.build()
    bindings = json.loads(function.get_function_json())["bindings"]
    trigger = next(b for b in bindings if b["type"] == "serviceBusTrigger")
    assert trigger["name"] == "msg" and trigger["connection"] == "SERVICEBUS_CONNECTION"
    assert trigger.get("autoCompleteMessages", True) is True
    assert trigger["queueName"] in ("dsr-requests", "%SERVICEBUS_QUEUE%")
    assert {"type": "durableClient", "name": "client", "direction": "IN"} in bindings
    assert set(inspect.signature(user_function(service_bus.service_bus_request)).parameters) == {"msg", "client"}


def test_a_valid_message_starts_its_request() -> None:
    client = FakeDurableClient()
    deliver(client, {**EXPORT, "requestId": "case-sb-1"}, messageId="m-1")
    (name, instance_id, started), = client.started
    assert (name, instance_id) == (DATA_REQUEST_ORCHESTRATOR, "case-sb-1")
    assert started["request"]["categories"] == ["tags"]


def test_the_message_id_is_the_request_id_so_redeliveries_start_nothing() -> None:
    client = FakeDurableClient()
    for delivery in (1, 2, 3):
        deliver(client, EXPORT, messageId="order-42", deliveryCount=delivery)
    assert [instance_id for _, instance_id, _ in client.started] == ["order-42"]


def test_an_invalid_message_raises_its_validation_error(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeDurableClient()
    body = {"operation": "delete", "dryrun": True, "confirm": "default", "projects": ["sb-secret-project-name"]}
    with caplog.at_level(logging.INFO), pytest.raises(InvalidMessageError) as refused:
        deliver(client, body, messageId="m-bad")
    assert client.started == []
    assert refused.value.reason == INVALID_REASON
    assert "/dryrun: unknown field; did you mean 'dryRun'?" in refused.value.description
    assert "/projects/0:" in refused.value.description
    assert "m-bad" in caplog.text and "/dryrun" in caplog.text
    assert "sb-secret-project-name" not in caplog.text  # logs name fields, never body values


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("not json", "(body): the body is not valid JSON"),
        ({"operation": "export", "resource": "elsewhere"}, "/resource: 'elsewhere' is not a configured resource"),
        ({"operation": "delete"}, "/confirm: is required for delete"),
        ({"operation": "export", "confirm": "default"}, "/confirm: only allowed when operation is delete"),
    ],
)
def test_every_kind_of_invalid_message_is_refused(body: Any, expected: str) -> None:
    client = FakeDurableClient()
    with pytest.raises(InvalidMessageError) as refused:
        deliver(client, body, messageId="m-x")
    assert client.started == [] and expected in refused.value.description


def test_a_request_id_taken_by_another_request_is_refused() -> None:
    client = FakeDurableClient()
    deliver(client, {**EXPORT, "requestId": "case-7"}, messageId="m-1")
    with pytest.raises(InvalidMessageError) as refused:
        deliver(client, {"operation": "export", "requestId": "case-7"}, messageId="m-2")
    assert len(client.started) == 1 and refused.value.reason == CONFLICT_REASON


def test_a_failure_to_start_raises_so_the_broker_retries() -> None:
    client = FakeDurableClient(fail_start=True)
    with pytest.raises(ConnectionError):
        deliver(client, EXPORT, messageId="m-1")
