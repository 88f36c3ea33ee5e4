"""Sample app: a timer trigger, a Service Bus trigger that starts an orchestration, and a custom route prefix."""

import json
import logging
import os
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


def _append(setting: str, record: dict) -> None:
    path = os.environ.get(setting)
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps(record) + "\n")


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer", run_on_startup=True)
def tick(timer: func.TimerRequest) -> None:
    """Record each firing."""
    logging.info("tick fired")
    _append("TICK_LEDGER", {"at": datetime.now(UTC).isoformat(), "pastDue": timer.past_due, "pid": os.getpid()})


@app.service_bus_queue_trigger(arg_name="msg", queue_name="requests", connection="SERVICEBUS_CONNECTION")
@app.durable_client_input(client_name="client")
async def on_message(msg: func.ServiceBusMessage, client: df.DurableOrchestrationClient) -> None:
    """Record the message and start `approval` with the message id as instance id."""
    _append("SB_LEDGER", {"body": msg.get_body().decode(), "messageId": msg.message_id,
                          "deliveryCount": msg.delivery_count,
                          "applicationProperties": msg.application_properties})
    await client.start_new("approval", msg.message_id, json.loads(msg.get_body()))


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    decision = yield context.wait_for_external_event("decision")
    return {"request": context.get_input(), "decision": decision}


@app.route(route="items/{id:int}/{*rest}", methods=["GET"])
def item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"id": req.route_params["id"], "rest": req.route_params.get("rest")}),
                             mimetype="application/json")


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
async def admin_only(req: func.HttpRequest) -> str:
    return "secret area"


@app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("handler failed")


@app.orchestration_trigger(context_name="context")
def self_check(context: df.DurableOrchestrationContext):
    """An activity with a durable client binding looks at its own orchestration."""
    return (yield context.call_activity("peek", context.instance_id))


@app.activity_trigger(input_name="instance_id")
@app.durable_client_input(client_name="client")
async def peek(instance_id: str, client: df.DurableOrchestrationClient) -> str:
    status = await client.get_status(instance_id)
    return status.runtime_status.value


@app.service_bus_queue_trigger(arg_name="text", queue_name="plain", connection="SERVICEBUS_CONNECTION")
def on_text(text: str) -> None:
    """A Service Bus function that takes the body as a str."""
    _append("SB_LEDGER", {"text": text})
