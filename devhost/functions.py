"""Invoke a non-durable function with its trigger value and the inputs devhost binds for it."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from devhost.appstate import INVOKER, SETTINGS
from devhost.durable_api import client_binding
from devhost.indexer import FunctionInfo
from devhost.invoker import Context


async def invoke(app: web.Application, info: FunctionInfo, trigger_value: Any, *, reason: str) -> Any:
    """Call `info` with the trigger argument, a durable client binding and `context` if it wants them."""
    settings = app[SETTINGS]
    invocation_id = str(uuid.uuid4())
    kwargs: dict[str, Any] = {info.trigger["name"]: trigger_value}
    if info.client_param:
        kwargs[info.client_param] = client_binding(settings)
    if info.wants_context:
        kwargs["context"] = Context(info.name, invocation_id, str(settings.app_dir))
    return await app[INVOKER].call(info.name, info.func, invocation_id=invocation_id, reason=reason,
                                   bound=kwargs)
