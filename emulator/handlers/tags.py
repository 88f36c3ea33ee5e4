"""Tags: list, get, create, delete (workspace, or an iteration's copy with `iterationId`)."""

from __future__ import annotations

from aiohttp import web

from emulator import render
from emulator.errors import bad_request, tag_not_found
from emulator.model import Image, Tag
from emulator.params import choice, optional_uuid, path_id, project_id, required
from emulator.runtime import runtime


def _counts(images: dict[str, Image]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for image in images.values():
        for tag_id in image.tag_ids():
            counts[tag_id] = counts.get(tag_id, 0) + 1
    return counts


async def get_tags(request: web.Request) -> web.Response:
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    iteration_id = optional_uuid(request, "iterationId")
    tags = rt.store.tag_set(project, iteration_id)
    counts = _counts(rt.store.image_set(project, iteration_id))
    ordered = sorted(tags.values(), key=lambda t: (t.created, t.id))
    return web.json_response([render.tag(t, counts.get(t.id, 0)) for t in ordered])


async def get_tag(request: web.Request) -> web.Response:
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    tag_id = path_id(request, "tagId", tag_not_found(request.match_info["tagId"]))
    iteration_id = optional_uuid(request, "iterationId")
    tags = rt.store.tag_set(project, iteration_id)
    if tag_id not in tags:
        raise tag_not_found(tag_id)
    counts = _counts(rt.store.image_set(project, iteration_id))
    return web.json_response(render.tag(tags[tag_id], counts.get(tag_id, 0)))


async def create_tag(request: web.Request) -> web.Response:
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    name = required(request, "name").strip()
    if any(t.name.lower() == name.lower() for t in project.tags.values()):
        raise bad_request("BadRequestTagNameNotUnique", f"A tag named {name!r} already exists.")
    kind = choice(request, "type", ("Regular", "Negative", "GeneralProduct"), "Regular")
    tag = Tag(rt.store.ids(), name, request.query.get("description"), kind, rt.store.clock())
    project.tags[tag.id] = tag
    return web.json_response(render.tag(tag, 0))


async def delete_tag(request: web.Request) -> web.Response:
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    tag_id = path_id(request, "tagId", tag_not_found(request.match_info["tagId"]))
    rt.store.delete_tag(project, tag_id)
    return web.Response(status=204)
