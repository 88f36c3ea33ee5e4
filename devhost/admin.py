"""`POST /admin/functions/{name}`: run a non-HTTP function by hand, as the real host's admin API does."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from azure.functions.servicebus import ServiceBusMessage

from devhost.appstate import INDEX
from devhost.functions import invoke
from devhost.timers import timer_request

log = logging.getLogger("devhost.admin")
BACKGROUND = web.AppKey("admin_background", set)


def service_bus_message(payload: dict[str, Any]) -> ServiceBusMessage:
    """A ServiceBusMessage from the admin body: `input` plus optional broker fields."""
    raw = payload.get("input", "")
    body = raw if isinstance(raw, str) else json.dumps(raw)
    message_id = str(payload.get("messageId") or uuid.uuid4().hex)
    properties = dict(payload.get("applicationProperties") or {})
    delivery_count = int(payload.get("deliveryCount", 1))
    now = datetime.now(UTC)
    metadata = {"MessageId": message_id, "DeliveryCount": delivery_count, "ApplicationProperties": properties,
                "UserProperties": properties, "EnqueuedTimeUtc": now.isoformat()}
    return ServiceBusMessage(
        body=body.encode(),
        trigger_metadata=metadata,
        application_properties=properties,
        user_properties=properties,
        message_id=message_id,
        delivery_count=delivery_count,
        content_type=payload.get("contentType"),
        correlation_id=payload.get("correlationId"),
        session_id=payload.get("sessionId"),
        subject=payload.get("subject"),
        label=payload.get("subject"),
        enqueued_time_utc=now,
        sequence_number=int(payload.get("sequenceNumber", 1)),
        lock_token=str(uuid.uuid4()),
    )


def _trigger_value(info: Any, payload: dict[str, Any]) -> Any:
    """What the trigger parameter receives: typed as the function's annotation asks."""
    if info.kind == "timer":
        return timer_request(info, past_due=False)
    message = service_bus_message(payload)
    annotation = _annotation(info)  # a type, or its name under `from __future__ import annotations`
    if annotation in (str, "str"):
        return message.get_body().decode()
    if annotation in (bytes, "bytes"):
        return message.get_body()
    return [message] if str(info.trigger.get("cardinality", "")).lower() == "many" else message


def _annotation(info: Any) -> Any:
    try:
        parameter = inspect.signature(info.func).parameters.get(info.trigger["name"])
    except (TypeError, ValueError):
        return None
    return None if parameter is None else parameter.annotation


async def invoke_function(request: web.Request) -> web.Response:
    """202 and run in the background; 404 for an unknown function, 400 for HTTP/durable ones."""
    name = request.match_info["name"]
    info = request.app[INDEX].get(name)
    if info is None:
        return web.json_response({"error": f"function {name!r} not found"}, status=404)
    if info.kind not in ("timer", "servicebus"):
        return web.json_response({"error": f"function {name!r} ({info.kind}) cannot be invoked here"}, status=400)
    try:
        payload = await request.json() if (await request.read()) else {}
    except ValueError:
        return web.json_response({"error": "body must be JSON: {\"input\": ...}"}, status=400)
    value = _trigger_value(info, payload if isinstance(payload, dict) else {"input": payload})
    task = asyncio.create_task(_run(request.app, info, value))
    request.app[BACKGROUND].add(task)
    task.add_done_callback(request.app[BACKGROUND].discard)
    return web.Response(status=202)


async def _run(app: web.Application, info: Any, value: Any) -> None:
    try:
        await invoke(app, info, value, reason="This function was programmatically called via the host APIs.")
    except Exception:
        log.exception("admin invocation of %s failed", info.name)


async def host_status(request: web.Request) -> web.Response:
    """`GET /admin/host/status`: a readiness probe, as on the real host."""
    return web.json_response({"state": "Running", "functions": sorted(request.app[INDEX].functions)})


ROUTES = [
    ("POST", "/admin/functions/{name}", invoke_function),
    ("GET", "/admin/host/status", host_status),
]
