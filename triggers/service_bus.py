"""Service Bus requests (DESIGN.md §3): a queue message with the HTTP API's JSON body starts the request once.

Messages are settled by the host (`autoCompleteMessages`, the default): a message whose invocation succeeds
is completed; an invalid one raises `InvalidMessageError` naming the fields, so every delivery fails and the
broker dead-letters it after the queue's MaxDeliveryCount; a failure to start raises and is redelivered.
The worker's explicit settlement client (`ServiceBusMessageActions` of the beta
azurefunctions-extensions-bindings-servicebus) is not used: Microsoft's Python docs say message settlement is
not yet supported, and a worker that does not inject it refuses the function, which fails the whole app at
indexing (see docs/service-bus.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from dsr.schedules import binding_setting
from dsr.servicebus import InvalidMessageError, QueueMessage, handle_message
from dsr.settings import Settings
from triggers.orchestrations import DurableOrchestrations

bp = df.Blueprint()

QUEUE_SETTING = "SERVICEBUS_QUEUE"
DEFAULT_QUEUE = "dsr-requests"
CONNECTION = "SERVICEBUS_CONNECTION"  # a connection string, or SERVICEBUS_CONNECTION__fullyQualifiedNamespace


@bp.service_bus_queue_trigger(arg_name="msg", queue_name=binding_setting(QUEUE_SETTING, DEFAULT_QUEUE),
                              connection=CONNECTION)
@bp.durable_client_input(client_name="client")
async def service_bus_request(msg: func.ServiceBusMessage, client: df.DurableOrchestrationClient) -> None:
    """One queue message: validate, start once under its request id; the host settles it."""
    await handle_message(
        queue_message(msg),
        orchestrations=DurableOrchestrations(client),
        settings=Settings.from_env(),
        settlement=HostSettlement(),
        now=datetime.now(UTC),
    )


def queue_message(msg: func.ServiceBusMessage) -> QueueMessage:
    """The plain values of a binding message."""
    return QueueMessage(body=msg.get_body(), message_id=msg.message_id or "", delivery_count=msg.delivery_count or 1)


class HostSettlement:
    """The Settlement port when the host settles: it completes a successful invocation and abandons a failed
    one; an invalid message raises, so it fails every delivery and the broker dead-letters it after the
    queue's MaxDeliveryCount (reason MaxDeliveryCountExceeded; the validation error is in the logged exception).
    """

    def complete(self) -> None:
        """The host completes a successful invocation itself."""

    def abandon(self) -> None:
        """The host abandons a failed invocation itself."""

    def dead_letter(self, reason: str, description: str) -> None:
        raise InvalidMessageError(reason, description)
