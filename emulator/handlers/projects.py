"""Projects: list, get, delete, export, artifacts."""

from __future__ import annotations

import base64
import json

from aiohttp import web

from emulator import render
from emulator.errors import ApiError, bad_request
from emulator.params import project_id, required
from emulator.runtime import runtime


async def get_projects(request: web.Request) -> web.Response:
    rt = runtime(request)
    projects = sorted(rt.store.projects.values(), key=lambda p: (p.created, p.id))
    return web.json_response([render.project(p, rt.link) for p in projects])


async def get_project(request: web.Request) -> web.Response:
    rt = runtime(request)
    return web.json_response(render.project(rt.store.project(project_id(request)), rt.link))


async def delete_project(request: web.Request) -> web.Response:
    """Delete the project and every byte it kept; refused while an iteration is published."""
    rt = runtime(request)
    await rt.blobs.delete_many(rt.store.delete_project(project_id(request)))
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
    """Bytes of one of the project's blobs, by path relative to the project (e.g. `images/<id>/original.png`)."""
    rt = runtime(request)
    project = rt.store.project(project_id(request))
    path = required(request, "path").lstrip("/")
    if ".." in path.split("/"):
        raise bad_request("BadRequestInvalidArtifactUri", "The artifact path is not valid.")
    data = await rt.blobs.read(f"{project.id}/{path}")
    if data is None:
        raise ApiError(404, "NotFound", "The artifact does not exist.")
    return web.Response(body=data, content_type="application/octet-stream")
