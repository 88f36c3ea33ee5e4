"""Sample app: HTTP starter, fan-out of activities (one flaky, retried), a sub-orchestrator and a timer."""

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
FLAKY_ITEM = 7


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the orchestrator named in the route with the JSON body as input."""
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["name"], req.params.get("id"),
                                         json.loads(body) if body else None)
    return client.create_check_status_response(req, instance_id)


@app.route(route="hello", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hello {req.params.get('name', 'world')}")


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    """Fan out `count` items, one of them flaky; then a timer and a sub-orchestrator."""
    options = context.get_input() or {}
    count = int(options.get("count", 50))
    tasks = [context.call_activity_with_retry("work", RETRY, {"item": i, "delay": options.get("delay", 0)})
             for i in range(count)]
    results = yield context.task_all(tasks)
    context.set_custom_status({"fannedIn": len(results)})
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=300))
    summary = yield context.call_sub_orchestrator("summarise", results)
    return {"count": len(results), "sum": summary, "results": results}


@app.orchestration_trigger(context_name="context")
def summarise(context: df.DurableOrchestrationContext):
    values = context.get_input()
    total = yield context.call_activity("add", values)
    return total


@app.activity_trigger(input_name="payload")
def work(payload: dict) -> int:
    """Square the item; item FLAKY_ITEM fails on its first two attempts (counted in a file)."""
    item = payload["item"]
    if payload.get("delay"):
        time.sleep(float(payload["delay"]))
    ledger = os.environ.get("FANOUT_LEDGER")
    if ledger:
        with open(ledger, "a") as handle:
            handle.write(f"{item}\n")
    if item == FLAKY_ITEM:
        attempts_file = Path(os.environ.get("FANOUT_ATTEMPTS", "/tmp/fanout-attempts"))
        attempts = int(attempts_file.read_text()) + 1 if attempts_file.exists() else 1
        attempts_file.write_text(str(attempts))
        if attempts < 3:
            raise RuntimeError(f"transient failure {attempts}")
    return item * item


@app.activity_trigger(input_name="values")
def add(values: list) -> int:
    return sum(values)
