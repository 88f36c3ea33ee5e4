"""HTTP triggers: route templates, auth levels, and HttpRequest/HttpResponse conversion."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.indexer import FunctionInfo

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PARAM = re.compile(r"^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([^}?=]+))?(\?)?\}$")
_CONSTRAINTS = {"int": r"-?\d+", "long": r"-?\d+", "bool": r"(?i:true|false)", "alpha": r"[A-Za-z]+",
                "guid": r"[0-9A-Fa-f-]{32,36}", "double": r"-?\d+(?:\.\d+)?"}


class RouteError(ValueError):
    """A route template devhost cannot parse."""


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP-triggered function with its compiled route."""

    function: FunctionInfo
    template: str
    pattern: re.Pattern[str]
    methods: tuple[str, ...]
    auth_level: str
    literal_segments: int

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return None if found is None else {k: v for k, v in found.groupdict().items() if v is not None}


def compile_route(template: str) -> tuple[re.Pattern[str], int]:
    """An Azure Functions route template (`{id}`, `{id:int}`, `{id?}`, `{*rest}`) as a regex."""
    parts, literals = [], 0
    for segment in [s for s in template.strip("/").split("/") if s]:
        param = _PARAM.match(segment)
        if param is None:
            if "{" in segment:
                raise RouteError(f"unsupported route segment {segment!r} in {template!r}")
            parts.append("/" + re.escape(segment))
            literals += 1
            continue
        catch_all, name, constraint, optional = param.groups()
        body = ".*" if catch_all else _CONSTRAINTS.get((constraint or "").split("(")[0], "[^/]+")
        group = f"/(?P<{name}>{body})"
        parts.append(f"(?:{group})?" if optional or catch_all else group)
    return re.compile("".join(parts) or "/?", re.IGNORECASE), literals


def build_routes(functions: list[FunctionInfo], prefix: str) -> list[HttpRoute]:
    """Routes for every HTTP trigger, most specific first (more literal segments win)."""
    routes = []
    for info in functions:
        template = info.trigger.get("route") or info.name
        full = "/".join(p for p in (prefix.strip("/"), template.strip("/")) if p)
        pattern, literals = compile_route(full)
        methods = tuple(str(m).upper() for m in info.trigger.get("methods") or ALL_METHODS)
        level = str(info.trigger.get("authLevel") or "function").lower()
        routes.append(HttpRoute(info, full, pattern, methods, level, literals))
    return sorted(routes, key=lambda r: (-r.literal_segments, r.template.count("{")))


def find_route(routes: list[HttpRoute], path: str, method: str) -> tuple[HttpRoute | None, dict[str, str]]:
    """(route, route params): the first route matching path and method; (None, {}) when none does."""
    for route in routes:
        params = route.match(path)
        if params is not None and (method in route.methods or (method == "HEAD" and "GET" in route.methods)):
            return route, params
    return None, {}


async def to_http_request(request: web.Request, route_params: dict[str, str]) -> func.HttpRequest:
    """The aiohttp request as the azure.functions.HttpRequest the worker would build."""
    body = await request.read()
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        params={k: request.query[k] for k in request.query},
        route_params=route_params,
        body=body,
    )


def to_web_response(result: Any) -> web.Response:
    """A function's return value (HttpResponse, str, bytes, JSON-able or None) as an aiohttp response."""
    if isinstance(result, func.HttpResponse):
        headers = dict(result.headers)
        if not any(k.lower() == "content-type" for k in headers):
            mimetype = result.mimetype or "text/plain"
            headers["Content-Type"] = f"{mimetype}; charset={result.charset or 'utf-8'}"
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if result is None:
        return web.Response(status=204)
    if isinstance(result, bytes | bytearray):
        return web.Response(body=bytes(result), content_type="application/octet-stream")
    if isinstance(result, str):
        return web.Response(text=result, content_type="text/plain")
    return web.Response(text=json.dumps(result), content_type="application/json")
