"""The aiohttp app factory: HTTP triggers, the Durable HTTP API, admin, and the engine's lifecycle."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from devhost import admin, durable_api
from devhost.appstate import (
    ENGINE,
    INDEX,
    INVOKER,
    REQUIRE_KEY,
    ROUTES,
    RPC_PREFIX,
    SETTINGS,
    STORE,
    WEBHOOK_PREFIX,
    Settings,
)
from devhost.engine import Engine
from devhost.functions import invoke
from devhost.http_triggers import build_routes, find_route, to_http_request, to_web_response
from devhost.indexer import AppIndex
from devhost.invoker import Invoker
from devhost.keys import Level, allows, level
from devhost.store import Store
from devhost.timers import ScheduleMonitor, run_singleton, run_timer

log = logging.getLogger("devhost.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEYED_PREFIXES = {WEBHOOK_PREFIX: Level.SYSTEM, "/admin": Level.ADMIN}  # the level each needs, as on Azure
ROUTE_LEVELS = {"anonymous": Level.ANONYMOUS, "function": Level.FUNCTION, "admin": Level.ADMIN}


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One place for error shaping and the access log (path only: query strings may hold keys)."""
    started = time.monotonic()
    try:
        response = await handler(request)
    except web.HTTPMethodNotAllowed:
        response = web.Response(status=404)  # the host matches routes by method: a wrong method matches nothing
    except web.HTTPException as exc:
        response = exc
    except Exception:
        log.exception("unhandled error serving %s %s", request.method, request.path)
        response = web.json_response({"error": "internal server error"}, status=500)
    log.info("%s %s -> %d (%dms)", request.method, request.path, response.status,
             (time.monotonic() - started) * 1000)
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The Durable webhooks need the system or the master key, the admin API the master key."""
    required = next((needed for prefix, needed in KEYED_PREFIXES.items() if request.path.startswith(prefix)), None)
    keyed = request.app[REQUIRE_KEY] and required is not None
    if keyed and not allows(level(request, request.app[SETTINGS].keys), required):
        return web.json_response({"error": f"this route needs the {required.name.lower()} key"}, status=401)
    return await handler(request)


async def http_trigger(request: web.Request) -> web.StreamResponse:
    """Dispatch `/{routePrefix}/...` to the HTTP-triggered function whose route matches."""
    route, params = find_route(request.app[ROUTES], request.path, request.method)
    if route is None:  # no function has this route and method (FunctionsController: 404)
        return web.Response(status=404)
    required = ROUTE_LEVELS.get(route.auth_level, Level.FUNCTION)
    if not allows(level(request, request.app[SETTINGS].keys), required):
        return web.Response(status=401)
    http_request = await to_http_request(request, params)
    try:
        result = await invoke(request.app, route.function, http_request, reason=f"HTTP {request.method}")
    except Exception:
        return web.Response(status=500)
    return to_web_response(result)


async def engine_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the task hub, start the engine and its pools; stop them on shutdown."""
    settings = app[SETTINGS]
    store = Store(settings.store_path, owner=settings.worker, lease_seconds=settings.lease_seconds)
    invoker = Invoker(activities=settings.host.max_activities, orchestrators=settings.host.max_orchestrators,
                      function_timeout=settings.host.function_timeout)
    engine = Engine(store, app[INDEX], invoker, max_activities=settings.host.max_activities,
                    max_orchestrators=settings.host.max_orchestrators, app_dir=settings.app_dir,
                    client_binding=durable_api.client_binding(settings))
    app[STORE], app[INVOKER], app[ENGINE] = store, invoker, engine
    engine.start()
    yield
    for task in list(app[admin.BACKGROUND]):
        task.cancel()
    await engine.stop()
    invoker.close()
    store.close()


async def rpc_ctx(app: web.Application) -> AsyncIterator[None]:
    """The keyless loopback endpoint the durable client's `rpcBaseUrl` points at."""
    rpc = web.Application(middlewares=[errors_middleware])
    rpc[SETTINGS], rpc[INDEX], rpc[STORE], rpc[ENGINE] = app[SETTINGS], app[INDEX], app[STORE], app[ENGINE]
    rpc[REQUIRE_KEY] = False
    durable_api.add_routes(rpc, RPC_PREFIX)
    runner = web.AppRunner(rpc, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", app[SETTINGS].rpc_port).start()
    yield
    await runner.cleanup()


async def timers_ctx(app: web.Application) -> AsyncIterator[None]:
    """One schedule loop per timer-triggered function, run only while this worker holds the function's singleton
    listener lock (every devhost on a state dir may start; one fires each timer, as one instance does on Azure)."""
    engine = app[ENGINE]
    monitor = ScheduleMonitor(app[SETTINGS].state_dir / "timers")
    tasks = []
    for info in app[INDEX].of_kind("timer"):
        fire = functools.partial(invoke, app, info, reason="Timer fired")
        lock = f"{info.name}.Listener"
        tasks.append(asyncio.create_task(run_singleton(
            lock, functools.partial(run_timer, info, fire, monitor=monitor),
            acquire=functools.partial(engine.db, engine.store.try_lock, lock),
            release=functools.partial(engine.db, engine.store.release_lock, lock),
            interval=engine.store.lease_seconds / 3)))
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def create_app(settings: Settings, index: AppIndex) -> web.Application:
    """The devhost web app for an indexed function app."""
    app = web.Application(middlewares=[errors_middleware, auth_middleware], client_max_size=100 * 1024 * 1024)
    app[SETTINGS] = settings
    app[INDEX] = index
    app[REQUIRE_KEY] = True
    app[ROUTES] = build_routes(index.of_kind("http"), settings.host.route_prefix)
    app[admin.BACKGROUND] = set()
    durable_api.add_routes(app, WEBHOOK_PREFIX)
    for method, path, handler in admin.ROUTES:
        app.router.add_route(method, path, handler)
    prefix = f"/{settings.host.route_prefix}" if settings.host.route_prefix else ""
    if prefix:
        app.router.add_route("*", prefix, http_trigger)
    app.router.add_route("*", prefix + "/{tail:.*}", http_trigger)
    app.cleanup_ctx.extend([engine_ctx, rpc_ctx, timers_ctx])
    return app


def describe_routes(app: web.Application) -> list[str]:
    """Human-readable lines: every function and how to reach it (no keys)."""
    settings, lines = app[SETTINGS], []
    for route in app[ROUTES]:
        methods = ",".join(route.function.trigger.get("methods") or ["*"])
        lines.append(f"  {route.function.name}: [{methods}] {settings.base_url}/{route.template} "
                     f"(auth: {route.auth_level})")
    for info in app[INDEX].functions.values():
        if info.kind != "http":
            lines.append(f"  {info.name}: {info.trigger['type']}")
    return lines
