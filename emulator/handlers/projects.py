"""Projects: list, get, delete, export, artifacts."""

from __future__ import annotations

import base64
import json
import re

from aiohttp import web

from emulator import render
from emulator.errors import ServiceError, bad_request, generic_not_found
from emulator.params import project_id, required
from emulator.runtime import runtime

# `/i-<project hex>/<o|i|t>-<image hex>`: the relative image URIs of listings (GetArtifacts.json)
IMAGE_ARTIFACT = re.compile(r"^/?i-([0-9a-f]{32})/([oit]-[0-9a-f]{32})$")


async def get_projects(request: web.Request) -> web.Response:
    rt = runtime(request)
    projects = sorted(rt.store.projects.values(), key=lambda p: (p.created, p.id))
    return web.json_response([render.project(p, rt.link, rt.config.realism) for p in projects])


async def get_project(request: web.Request) -> web.Response:
    rt = runtime(request)
    return web.json_response(render.project(rt.store.project(project_id(request)), rt.link, rt.config.realism))


async def delete_project(request: web.Request) -> web.Response:
    """Delete the project and every byte it kept; refused while an iteration is published."""
    rt = runtime(request)
    with generic_not_found(rt.config.realism):
        blobs = rt.store.delete_project(project_id(request))
    await rt.blobs.delete_many(blobs)
    return web.Response(status=204)


async def export_project(request: web.Request) -> web.Response:
    """A `ProjectExport`: counts and an opaque import token."""
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    regions = sum(len(i.regions) for i in project.images.values())
    token = base64.urlsafe_b64encode(json.dumps({"project": project.id}).encode()).decode()
    return web.json_response(
        {
            "iterationCount": len(project.iterations),
            "imageCount": len(project.images),
            "tagCount": len(project.tags),
            "regionCount": regions,
            "estimatedImportTimeInMS": 1000 + 10 * len(project.images),
            "token": token,
        }
    )


async def get_artifact(request: web.Request) -> web.Response:
    """Bytes of one of the project's blobs: an image by the relative URI a listing gave
    (`/i-<project hex>/i-<image hex>`), or another blob by its path under the project (`predictions/<id>/...`)."""
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    path = required(request, "path")
    image = IMAGE_ARTIFACT.match(path)
    if image is not None:
        if image.group(1) != project.id.replace("-", ""):
            raise ServiceError(404, "NotFound", "The artifact does not exist.")
        name = f"i-{image.group(1)}/{image.group(2)}"
    else:
        path = path.lstrip("/")
        if not path or ".." in path.split("/"):
            raise bad_request("BadRequestInvalidArtifactUri", "The artifact path is not valid.")
        name = f"{project.id}/{path}"
    data = await rt.blobs.read(name)
    if data is None:
        raise ServiceError(404, "NotFound", "The artifact does not exist.")
    return web.Response(body=data, content_type="application/octet-stream")
