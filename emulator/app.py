"""The aiohttp app: one route table served under each API version prefix, gates and error shaping."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from emulator import errors
from emulator.config import Config
from emulator.handlers import admin, images, iterations, predictions, projects, tags
from emulator.runtime import RUNTIME, Runtime, runtime

log = logging.getLogger("emulator")

PREFIXES = ("/customvision/v3.3/training", "/customvision/v3.4-preview/training")
ADMIN_PREFIX = "emulator."  # route names of the test-only endpoints

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
P = "/projects/{projectId}"
IT = P + "/iterations/{iterationId}"

# (method, path under the version prefix, handler, operationId from the spec)
ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/projects", projects.get_projects, "GetProjects"),
    ("GET", P, projects.get_project, "GetProject"),
    ("DELETE", P, projects.delete_project, "DeleteProject"),
    ("GET", P + "/export", projects.export_project, "ExportProject"),
    ("GET", P + "/artifacts", projects.get_artifact, "GetArtifact"),
    ("POST", P + "/train", iterations.train_project, "TrainProject"),
    ("GET", P + "/iterations", iterations.get_iterations, "GetIterations"),
    ("GET", IT, iterations.get_iteration, "GetIteration"),
    ("DELETE", IT, iterations.delete_iteration, "DeleteIteration"),
    ("POST", IT + "/publish", iterations.publish_iteration, "PublishIteration"),
    ("DELETE", IT + "/publish", iterations.unpublish_iteration, "UnpublishIteration"),
    ("GET", IT + "/performance", iterations.get_iteration_performance, "GetIterationPerformance"),
    ("GET", IT + "/performance/images", iterations.get_image_performances, "GetImagePerformances"),
    ("GET", IT + "/performance/images/count", iterations.get_image_performance_count, "GetImagePerformanceCount"),
    ("GET", IT + "/export", iterations.get_exports, "GetExports"),
    ("POST", IT + "/export", iterations.export_iteration, "ExportIteration"),
    ("GET", P + "/tags", tags.get_tags, "GetTags"),
    ("POST", P + "/tags", tags.create_tag, "CreateTag"),
    ("GET", P + "/tags/{tagId}", tags.get_tag, "GetTag"),
    ("DELETE", P + "/tags/{tagId}", tags.delete_tag, "DeleteTag"),
    ("GET", P + "/images", images.get_images, "GetImages"),
    ("POST", P + "/images", images.create_images_from_data, "CreateImagesFromData"),
    ("DELETE", P + "/images", images.delete_images, "DeleteImages"),
    ("GET", P + "/images/count", images.get_image_count, "GetImageCount"),
    ("GET", P + "/images/id", images.get_images_by_ids, "GetImagesByIds"),
    ("POST", P + "/images/metadata", images.update_image_metadata, "UpdateImageMetadata"),
    ("GET", P + "/images/tagged", images.get_tagged_images, "GetTaggedImages"),
    ("GET", P + "/images/tagged/count", images.get_tagged_image_count, "GetTaggedImageCount"),
    ("GET", P + "/images/untagged", images.get_untagged_images, "GetUntaggedImages"),
    ("GET", P + "/images/untagged/count", images.get_untagged_image_count, "GetUntaggedImageCount"),
    ("POST", P + "/predictions/query", predictions.query_predictions, "QueryPredictions"),
    ("DELETE", P + "/predictions", predictions.delete_prediction, "DeletePrediction"),
]


async def get_ready(request: web.Request) -> web.Response:
    """200 once the seed is in place; 503 with Retry-After while seeding; 500 with the cause if seeding failed."""
    rt = runtime(request)
    body = {"ready": rt.ready, "pid": os.getpid(), "seed": rt.seed}
    if rt.ready:
        counts = {"projects": len(rt.store.projects), "images": rt.store.image_count()}
        return web.json_response({**body, **counts, "seedSeconds": rt.seed_seconds})
    if rt.failure:
        return web.json_response({**body, "error": rt.failure}, status=500)
    return web.json_response({**body, "seeding": True}, status=503, headers={"Retry-After": "1"})


ADMIN_ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/_emulator/ready", get_ready, "emulator.ready"),
    ("GET", "/_emulator/state", admin.get_state, "emulator.state"),
    ("GET", "/_emulator/info", admin.get_info, "emulator.info"),
    ("GET", "/_emulator/stats", admin.get_stats, "emulator.stats"),
    ("GET", "/_emulator/faults", admin.get_faults, "emulator.faults.get"),
    ("POST", "/_emulator/faults", admin.set_faults, "emulator.faults.set"),
    ("POST", "/_emulator/reset", admin.reset, "emulator.reset"),
]
ANSWERED_BEFORE_READY = {"emulator.ready", "emulator.info"}


def _operation(request: web.Request) -> str | None:
    """The spec's operationId of the matched route (admin routes: their `emulator.` name)."""
    route = request.match_info.route
    return getattr(route, "name", None)


class DropConnection(Exception):
    """Raised after the transport is closed on purpose: no response must be written."""


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Shape every failure as a `CustomVisionError {code, message}`."""
    try:
        return await handler(request)
    except errors.ServiceError as exc:
        return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = errors.code_for_status(exc.status)
        headers = {k: v for k, v in exc.headers.items() if k.lower() != "content-type"}
        return web.json_response({"code": code, "message": exc.reason}, status=exc.status, headers=headers)
    except DropConnection:
        return web.Response(status=500)  # never sent: the transport is closed, aiohttp drops it quietly
    except Exception:
        log.exception("unhandled error in %s", _operation(request))
        return web.json_response({"code": "ErrorUnknown", "message": "An internal error occurred."}, status=500)


@web.middleware
async def gate_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth for every known route; for Training API calls also counting, throttling and faults."""
    operation = _operation(request)
    if operation is None:
        return await handler(request)
    rt = runtime(request)
    is_api = not operation.startswith(ADMIN_PREFIX)
    if is_api:
        rt.stats.calls += 1
        rt.stats.by_operation[operation] += 1
    if not hmac.compare_digest(request.headers.get("Training-Key", "").encode(), rt.config.training_key.encode()):
        raise errors.ServiceError(
            401,
            errors.UNAUTHORIZED,
            "Access denied due to invalid subscription key or wrong API endpoint. "
            "Make sure to provide a valid key for an active subscription.",
        )
    if not rt.ready and operation not in ANSWERED_BEFORE_READY:
        raise errors.ServiceError(503, "ServiceUnavailable", "The emulator is still seeding; retry shortly.",
                              headers={"Retry-After": "1"})
    if not is_api:
        return await handler(request)
    if not rt.bucket.try_take():
        rt.stats.throttled += 1
        raise errors.throttled(rt.config.realism.enabled, rt.stats.throttled)
    await _inject_faults(request, rt, operation)
    return await handler(request)


async def _inject_faults(request: web.Request, rt: Runtime, operation: str) -> None:
    settings = rt.faults.settings
    if settings.latency_ms:
        await asyncio.sleep(settings.latency_ms / 1000)
    rule = rt.faults.denied(request.match_info.get("projectId", "").lower() or None, operation)
    if rule is not None:
        raise errors.ServiceError(
            rule.status, errors.code_for_status(rule.status), f"{operation} is denied (emulator rule)."
        )
    kind = rt.faults.pick()
    if kind is None:
        return
    rt.stats.faults += 1
    if kind == "drop":
        if request.transport is not None:
            request.transport.close()
        raise DropConnection
    if kind == "429":
        rt.stats.throttled += 1
        raise errors.throttled(rt.config.realism.enabled, rt.stats.throttled)
    raise errors.ServiceError(int(kind), "ErrorUnknown", f"Injected fault: HTTP {kind}.")


def _api_app() -> web.Application:
    api = web.Application()
    for method, path, handler, operation in ROUTES:
        api.router.add_route(method, path, handler, name=operation)
    return api


def create_app(config: Config) -> web.Application:
    """The emulator app; blob storage opens in its cleanup context, which then seeds in the background."""
    app = web.Application(middlewares=[error_middleware, gate_middleware], client_max_size=8 * 1024 * 1024)
    rt = Runtime(config)
    app[RUNTIME] = rt
    for prefix in PREFIXES:
        app.add_subapp(prefix, _api_app())
    for method, path, handler, name in ADMIN_ROUTES:
        app.router.add_route(method, path, handler, name=name)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        try:
            await rt.start()
        except BaseException:  # stopped or failed while opening storage: close what was opened
            await rt.close()
            raise
        yield
        await rt.close()

    app.cleanup_ctx.append(lifecycle)
    return app
