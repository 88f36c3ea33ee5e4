"""Iterations: list, get, delete, train, publish/unpublish, performance, exports."""

from __future__ import annotations

from aiohttp import web

from emulator import images as pictures
from emulator import render, store
from emulator.blobs import make_upload
from emulator.errors import bad_request, generic_not_found, iteration_not_found
from emulator.handlers.images import tie_order
from emulator.model import Export, Iteration, Project
from emulator.params import choice, flag, path_id, project_id, required, take_skip, uuid_list
from emulator.runtime import Runtime, runtime

PLATFORMS = ("CoreML", "TensorFlow", "DockerFile", "ONNX", "VAIDK")
FLAVORS = ("Linux", "Windows", "ONNX10", "ONNX12", "ARM", "TensorFlowNormal", "TensorFlowLite")


def _lookup(request: web.Request) -> tuple[Runtime, Project, Iteration]:
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    iteration_id = path_id(request, "iterationId", iteration_not_found(request.match_info["iterationId"]))
    return rt, project, rt.store.iteration(project, iteration_id)


async def get_iterations(request: web.Request) -> web.Response:
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    iterations = sorted(project.iterations.values(), key=lambda i: (i.created, i.id))
    return web.json_response([render.iteration(i, project, rt.config.realism) for i in iterations])


async def get_iteration(request: web.Request) -> web.Response:
    rt, project, iteration = _lookup(request)
    return web.json_response(render.iteration(iteration, project, rt.config.realism))


async def delete_iteration(request: web.Request) -> web.Response:
    """Delete an unpublished iteration with its image snapshot and exports (gone already: a generic NotFound)."""
    with generic_not_found(runtime(request).config.realism):
        rt, project, iteration = _lookup(request)
    await rt.blobs.delete_many(rt.store.delete_iteration(project, iteration.id))
    return web.Response(status=204)


async def train_project(request: web.Request) -> web.Response:
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    iteration = rt.store.train(project, force=flag(request, "forceTrain"))
    return web.json_response(render.iteration(iteration, project, rt.config.realism))


async def publish_iteration(request: web.Request) -> web.Response:
    rt, project, iteration = _lookup(request)
    name, resource = required(request, "publishName"), required(request, "predictionId")
    rt.store.publish(project, iteration.id, name, resource)
    return web.json_response(True)


async def unpublish_iteration(request: web.Request) -> web.Response:
    with generic_not_found(runtime(request).config.realism):
        rt, project, iteration = _lookup(request)
    rt.store.unpublish(project, iteration.id)
    return web.Response(status=204)


async def get_iteration_performance(request: web.Request) -> web.Response:
    _, project, iteration = _lookup(request)
    try:
        threshold = float(request.query.get("threshold", "0.5"))
    except ValueError:
        raise bad_request("BadRequestInvalid", "threshold must be a number.") from None
    return web.json_response(render.iteration_performance(iteration, project, threshold))


def _performance_images(request: web.Request, iteration: Iteration) -> list:
    tag_ids = uuid_list(request, "tagIds", limit=20, exceeded_code="BadRequestExceededBatchSize")
    return store.select(iteration.images.values(), tagging="Tagged", tag_ids=set(tag_ids or ()))


async def get_image_performances(request: web.Request) -> web.Response:
    """The iteration's tagged images with what the model predicted for each."""
    rt, project, iteration = _lookup(request)
    take, skip = take_skip(request)
    order = choice(request, "orderBy", ("Newest", "Oldest"), "Newest")
    page = store.ordered(_performance_images(request, iteration), order, tie_order(rt))[skip : skip + take]
    return web.json_response(
        [render.image_performance(i, iteration, project, rt.link, rt.config.realism) for i in page]
    )


async def get_image_performance_count(request: web.Request) -> web.Response:
    _, _, iteration = _lookup(request)
    return web.json_response(len(_performance_images(request, iteration)))


async def get_exports(request: web.Request) -> web.Response:
    rt, _, iteration = _lookup(request)
    return web.json_response([render.export(e, rt.link) for e in iteration.exports])


async def export_iteration(request: web.Request) -> web.Response:
    """Export the iteration's model; the package is ready (Done) at once."""
    rt, project, iteration = _lookup(request)
    platform = choice(request, "platform", PLATFORMS, "")
    if not platform:
        raise bad_request("BadRequestRequiredParamIsNull", "platform is required.")
    flavor = choice(request, "flavor", FLAVORS, "") or None
    name = f"{project.id}/exports/{iteration.id}/{platform}-{flavor or 'default'}.zip"
    upload = make_upload(name, pictures.model_package(f"{platform} {iteration.name}"), "application/zip")
    await rt.blobs.put_many([upload])
    export = Export(platform, flavor, "Done", upload.blob, rt.store.clock())
    # Exporting the same platform and flavor again replaces the package, as the service does.
    iteration.exports = [e for e in iteration.exports if (e.platform, e.flavor) != (platform, flavor)] + [export]
    return web.json_response(render.export(export, rt.link))
