"""The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`) and the client binding.

The same handlers serve the key-protected webhook routes and the keyless loopback RPC
endpoint that `DurableOrchestrationClient` calls (its `rpcBaseUrl`), as the real host does.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devhost.appstate import ENGINE, INDEX, REQUIRE_KEY, SETTINGS, STORE, WEBHOOK_PREFIX, Settings
from devhost.replay_protocol import EventType, parse_iso
from devhost.store import Instance, InstanceExistsError
from dsr.runtime_status import PURGEABLE_STATUSES, RUNNING_STATUSES, TERMINAL_STATUSES, RuntimeStatus

PLACEHOLDER_ID = "INSTANCEID"
PAGE_SIZE = 100
CONTINUATION_HEADER = "x-ms-continuation-token"
STATUS_CODES = dict.fromkeys(RUNNING_STATUSES, 202)
HIDDEN_EVENTS = {EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED, EventType.TASK_SCHEDULED,
                 EventType.SUB_ORCHESTRATION_INSTANCE_CREATED}


def management_urls(origin: str, instance_id: str, settings: Settings) -> dict[str, str]:
    """The check-status payload: every URL carries the system key, as on Azure (so anyone holding it can
    terminate or purge any instance: an app must never hand it out)."""
    base = f"{origin}{WEBHOOK_PREFIX}/instances/{quote(instance_id, safe='')}"
    query = f"taskHub={settings.host.hub_name}&connection=Storage&code={settings.keys.system}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{base}?{query}",
        "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{base}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{base}?{query}",
        "restartPostUri": f"{base}/restart?{query}",
        "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
    }


def client_binding(settings: Settings) -> str:
    """The durableClient binding payload the host gives a function (parsed by the SDK's client)."""
    webhooks = f"{settings.base_url}{WEBHOOK_PREFIX}"
    code = f"code={settings.keys.system}"
    return json.dumps({
        "taskHubName": settings.host.hub_name,
        "creationUrls": {
            "createNewInstancePostUri": f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]?{code}",
            "createAndWaitOnNewInstancePostUri": f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]"
                                                 f"?timeout={{timeoutInSeconds}}&pollingInterval="
                                                 f"{{intervalInSeconds}}&{code}",
        },
        "managementUrls": management_urls(settings.base_url, PLACEHOLDER_ID, settings),
        "baseUrl": webhooks,
        "requiredQueryStringParameters": code,
        "rpcBaseUrl": settings.rpc_base_url,
        "httpBaseUrl": "",
        "maxGrpcMessageSizeInBytes": 0,
        "grpcHttpClientTimeout": "00:01:40",
    })


def _stamp(text: str) -> str:
    return parse_iso(text).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_payload(instance: Instance, *, show_input: bool = True, history: list[dict[str, Any]] | None = None,
                   show_history_output: bool = False) -> dict[str, Any]:
    """An instance in the real host's status shape."""
    payload: dict[str, Any] = {
        "name": instance.name,
        "instanceId": instance.instance_id,
        "runtimeStatus": instance.status,
        "input": _json(instance.input) if show_input else None,
        "customStatus": _json(instance.custom_status),
        "output": _json(instance.output),
        "createdTime": _stamp(instance.created_time),
        "lastUpdatedTime": _stamp(instance.last_updated_time),
    }
    if history is not None:
        payload["historyEvents"] = history_events(history, show_input=show_input, show_output=show_history_output)
    return payload


def history_events(history: list[dict[str, Any]], *, show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """History as the status API shows it: completions carry the function name and scheduled time."""
    scheduled = {e["EventId"]: e for e in history if e["EventType"] in
                 (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)}
    shown = []
    for entry in history:
        kind = EventType(entry["EventType"])
        if kind in HIDDEN_EVENTS:
            continue
        item: dict[str, Any] = {"EventType": _pascal(kind.name), "Timestamp": _stamp(entry["Timestamp"])}
        origin = scheduled.get(entry.get("TaskScheduledId"))
        if origin is not None:
            item["FunctionName"] = origin.get("Name")
            item["ScheduledTime"] = _stamp(origin["Timestamp"])
        if kind is EventType.EXECUTION_STARTED:
            item["FunctionName"] = entry.get("Name")
            if show_input:
                item["Input"] = _json(entry.get("Input"))
        for field in ("Reason", "Details", "OrchestrationStatus", "FireAt", "TimerId", "Name"):
            if field in entry and field not in item and kind is not EventType.EXECUTION_STARTED:
                item[field] = entry[field]
        if show_output and "Result" in entry:
            item["Result"] = _json(entry["Result"])
        shown.append(item)
    return shown


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    return default if value is None else value.lower() == "true"


def _origin(request: web.Request) -> str:
    """Public origin for management URLs: the caller's, or devhost's own for RPC calls."""
    return str(request.url.origin()) if request.app[REQUIRE_KEY] else request.app[SETTINGS].base_url


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"Message": message, "ExceptionMessage": message}, status=status)


async def _body_json(request: web.Request) -> str | None:
    """The request body as JSON text (None when empty); 400 when it is not JSON."""
    text = (await request.text()).strip()
    if not text:
        return None
    try:
        json.loads(text)
    except ValueError:
        raise web.HTTPBadRequest(text="Only application/json request content is supported") from None
    return text


def event_input(body: str | None) -> str | None:
    """EventRaised.Input from a raiseEvent body: the SDK posts its JSON as a JSON string, which the
    host passes through as that JSON text; any other JSON value is kept as its own JSON."""
    if body is None:
        return None
    token = json.loads(body)
    if isinstance(token, str):
        try:
            json.loads(token)
            return token
        except ValueError:
            pass
    return body


async def start(request: web.Request) -> web.Response:
    """POST orchestrators/{functionName}[/{instanceId}]: start, refusing a running duplicate."""
    name = request.match_info["function_name"]
    info = request.app[INDEX].get(name, "orchestrator")
    if info is None:
        return _error(400, f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function.")
    instance_id = request.match_info.get("instance_id") or uuid.uuid4().hex
    input_json = await _body_json(request)
    engine = request.app[ENGINE]
    try:
        await engine.db(engine.store.create, info.name, instance_id, input_json)
    except InstanceExistsError as exc:
        return _error(409, str(exc))
    engine.wake()
    if request.query.get("timeout"):
        finished = await _wait_finished(request, instance_id)
        if finished is not None and finished.status == RuntimeStatus.COMPLETED:
            return web.json_response(_json(finished.output))
    payload = management_urls(_origin(request), instance_id, request.app[SETTINGS])
    return web.json_response(payload, status=202, headers={"Location": payload["statusQueryGetUri"]})


async def _wait_finished(request: web.Request, instance_id: str) -> Instance | None:
    """createAndWaitOnNewInstance: poll until the instance finishes or `timeout` seconds pass."""
    engine = request.app[ENGINE]
    deadline = time.monotonic() + float(request.query["timeout"])
    interval = float(request.query.get("pollingInterval") or 1)
    while True:
        instance = await engine.db(engine.store.get, instance_id)
        if instance is not None and instance.status in TERMINAL_STATUSES:
            return instance
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))


async def status(request: web.Request) -> web.Response:
    """GET instances/{id}: 202 while running, 200 when finished, 404 when unknown."""
    engine, instance_id = request.app[ENGINE], request.match_info["instance_id"]
    instance = await engine.db(engine.store.get, instance_id)
    if instance is None:
        return web.Response(status=404)
    history = await engine.db(engine.store.history, instance_id) if _flag(request, "showHistory") else None
    payload = status_payload(instance, show_input=_flag(request, "showInput", True), history=history,
                             show_history_output=_flag(request, "showHistoryOutput"))
    code = STATUS_CODES.get(instance.status, 200)
    if instance.status == RuntimeStatus.FAILED and _flag(request, "returnInternalServerErrorOnFailure"):
        code = 500
    return web.json_response(payload, status=code)


def _filters(request: web.Request) -> dict[str, Any]:
    query = request.query
    statuses = [s for s in query.get("runtimeStatus", "").split(",") if s]
    return {
        "statuses": statuses or None,
        "created_from": parse_iso(query["createdTimeFrom"]) if query.get("createdTimeFrom") else None,
        "created_to": parse_iso(query["createdTimeTo"]) if query.get("createdTimeTo") else None,
        "prefix": query.get("instanceIdPrefix") or None,
    }


async def list_instances(request: web.Request) -> web.Response:
    """GET instances: filter by runtimeStatus, createdTimeFrom/To, instanceIdPrefix; one page of `top` (default
    100, as OrchestrationStatusQueryCondition.PageSize), continued with the `x-ms-continuation-token` header."""
    store, engine = request.app[STORE], request.app[ENGINE]
    top = int(request.query["top"]) if request.query.get("top") else PAGE_SIZE
    try:
        after = _parse_token(request.headers.get(CONTINUATION_HEADER))
    except ValueError:
        return _error(400, "The continuation token is not valid.")
    found, last = await engine.db(store.query_page, page_size=max(1, top), after=after, **_filters(request))
    show_input = _flag(request, "showInput", False)
    headers = {CONTINUATION_HEADER: _token_of(last) if last else ""}  # the host sends it empty on the last page
    return web.json_response([status_payload(i, show_input=show_input) for i in found], headers=headers)


def _token_of(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _parse_token(token: str | None) -> tuple[str, str] | None:
    if not token:
        return None
    created, instance_id = json.loads(base64.urlsafe_b64decode(token.encode()))
    return str(created), str(instance_id)


async def purge_one(request: web.Request) -> web.Response:
    """DELETE instances/{id}: 200 with the count; 404 unknown, 412 not finished (as HttpApiHandler)."""
    engine, instance_id = request.app[ENGINE], request.match_info["instance_id"]
    current = await engine.db(engine.store.get, instance_id)
    if current is None:
        return web.Response(status=404)
    if current.status not in TERMINAL_STATUSES:
        return _error(412, f"Only orchestrations in a terminal state can be purged, but the orchestration with "
                           f"instance ID {instance_id} has status {current.status}")
    deleted = await engine.db(engine.store.purge, [instance_id])
    return web.json_response({"instancesDeleted": deleted}, status=200 if deleted else 404)


async def purge_by(request: web.Request) -> web.Response:
    """DELETE instances?createdTimeFrom=...: purge finished instances matching the filter (createdTimeFrom is
    required, createdTimeTo defaults to now); 404 when none matched."""
    engine = request.app[ENGINE]
    if not request.query.get("createdTimeFrom"):
        return _error(400, "Please provide value for 'createdTimeFrom' parameter.")
    filters = _filters(request)
    filters["statuses"] = [s for s in filters["statuses"] or PURGEABLE_STATUSES if s not in RUNNING_STATUSES]
    found = await engine.db(engine.store.query, **filters)
    deleted = await engine.db(engine.store.purge, [i.instance_id for i in found])
    return web.json_response({"instancesDeleted": deleted}, status=200 if deleted else 404)


async def terminate(request: web.Request) -> web.Response:
    """POST instances/{id}/terminate?reason=: 202, or 404 unknown, 410 already finished."""
    engine = request.app[ENGINE]
    outcome = await engine.db(engine.store.terminate, request.match_info["instance_id"],
                              request.query.get("reason", ""))
    return web.Response(status={"ok": 202, "missing": 404, "gone": 410}[outcome])


async def raise_event(request: web.Request) -> web.Response:
    """POST instances/{id}/raiseEvent/{name}: 202, or 404 unknown, 410 already finished."""
    engine = request.app[ENGINE]
    data = event_input(await _body_json(request))
    outcome = await engine.db(engine.store.raise_event, request.match_info["instance_id"],
                              request.match_info["event_name"], data)
    engine.wake()
    return web.Response(status={"ok": 202, "missing": 404, "gone": 410}[outcome])


async def suspend_or_resume(request: web.Request) -> web.Response:
    """POST instances/{id}/suspend|resume?reason=: 202, or 404 unknown, 410 already finished."""
    engine = request.app[ENGINE]
    suspended = request.match_info["operation"] == "suspend"
    outcome = await engine.db(engine.store.set_suspended, request.match_info["instance_id"], suspended)
    engine.wake()
    return web.Response(status={"ok": 202, "missing": 404, "gone": 410}[outcome])


async def not_implemented(request: web.Request) -> web.Response:
    return _error(501, "devhost does not implement this Durable Functions API operation")


ROUTES = [
    ("POST", "/orchestrators/{function_name}", start),
    ("POST", "/orchestrators/{function_name}/{instance_id}", start),
    ("GET", "/instances", list_instances),
    ("GET", "/instances/", list_instances),
    ("DELETE", "/instances", purge_by),
    ("DELETE", "/instances/", purge_by),
    ("GET", "/instances/{instance_id}", status),
    ("DELETE", "/instances/{instance_id}", purge_one),
    ("POST", "/instances/{instance_id}/terminate", terminate),
    ("POST", "/instances/{instance_id}/raiseEvent/{event_name}", raise_event),
    ("POST", "/instances/{instance_id}/{operation:suspend|resume}", suspend_or_resume),
    ("POST", "/instances/{instance_id}/{operation:rewind|restart}", not_implemented),
]


def add_routes(app: web.Application, prefix: str) -> None:
    """Register the Durable HTTP API under `prefix`."""
    for method, path, handler in ROUTES:
        app.router.add_route(method, prefix + path, handler)
