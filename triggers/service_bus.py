"""Service Bus requests (DESIGN.md §3): a queue message with the HTTP API's JSON body starts the request once.

Messages are settled explicitly (`autoCompleteMessages: false`) through the worker's settlement client,
`ServiceBusMessageActions` (azurefunctions-extensions-bindings-servicebus): complete when started or already
running, dead-letter with the validation error as the reason, abandon a transient failure for redelivery.
See docs/service-bus.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func
from azurefunctions.extensions.bindings.servicebus import ServiceBusMessageActions

from dsr.schedules import binding_setting
from dsr.servicebus import InvalidMessageError, QueueMessage, Settlement, handle_message
from dsr.settings import Settings
from triggers.orchestrations import DurableOrchestrations

bp = df.Blueprint()

QUEUE_SETTING = "SERVICEBUS_QUEUE"
DEFAULT_QUEUE = "dsr-requests"
CONNECTION = "SERVICEBUS_CONNECTION"  # a connection string, or SERVICEBUS_CONNECTION__fullyQualifiedNamespace


@bp.service_bus_queue_trigger(arg_name="msg", queue_name=binding_setting(QUEUE_SETTING, DEFAULT_QUEUE),
                              connection=CONNECTION, auto_complete_messages=False)
@bp.durable_client_input(client_name="client")
async def service_bus_request(
    msg: func.ServiceBusMessage,
    client: df.DurableOrchestrationClient,
    message_actions: ServiceBusMessageActions = None,  # type: ignore[assignment]  # injected by the worker
) -> None:
    """One queue message: validate, start once under its request id, settle it."""
    await handle_message(
        queue_message(msg),
        orchestrations=DurableOrchestrations(client),
        settings=Settings.from_env(),
        settlement=settlement_for(msg, message_actions),
        now=datetime.now(UTC),
    )


def queue_message(msg: func.ServiceBusMessage) -> QueueMessage:
    """The plain values of a binding message."""
    return QueueMessage(body=msg.get_body(), message_id=msg.message_id or "", delivery_count=msg.delivery_count or 1)


def settlement_for(msg: func.ServiceBusMessage, actions: ServiceBusMessageActions | None) -> Settlement:
    """Settle through the worker's client; without one (devhost: no broker), fall back to the broker's retries."""
    return ActionsSettlement(actions, msg) if actions is not None else BrokerRetrySettlement()


class ActionsSettlement:
    """The Settlement port over `ServiceBusMessageActions`, which settles by the message's lock token."""

    def __init__(self, actions: ServiceBusMessageActions, msg: func.ServiceBusMessage) -> None:
        self._actions = actions
        self._msg = msg

    def complete(self) -> None:
        self._actions.complete(self._msg)

    def abandon(self) -> None:
        self._actions.abandon(self._msg)

    def dead_letter(self, reason: str, description: str) -> None:
        self._actions.deadletter(self._msg, deadletter_reason=reason, deadletter_error_description=description)


class BrokerRetrySettlement:
    """No settlement client: the host settles; an invalid message raises, so it fails every delivery.

    The broker then dead-letters it after the queue's MaxDeliveryCount (reason MaxDeliveryCountExceeded);
    the validation error is in the exception the host logs.
    """

    def complete(self) -> None:
        """The host completes a successful invocation itself."""

    def abandon(self) -> None:
        """The host abandons a failed invocation itself."""

    def dead_letter(self, reason: str, description: str) -> None:
        raise InvalidMessageError(reason, description)
