"""One data request through the real orchestrators and the SDK's replay, in devhost's in-process host, with stub
activities: the replay tests' shared runner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import azure.durable_functions as df

from devhost.harness import LocalDurableHost, output_of


def run_request(orchestrators: Iterable[ModuleType], activities: df.Blueprint, request: dict[str, Any], *,
                max_orchestrators: int = 4, timeout: float = 120) -> tuple[str, Any, Any]:
    """(runtime status, output, custom status) of `request` run to its end by `orchestrators`' blueprints and
    the stub `activities`."""
    app = df.DFApp()
    for module in orchestrators:
        app.register_functions(module.bp)
    app.register_functions(activities)

    async def go() -> tuple[str, Any, Any]:
        async with LocalDurableHost(app, max_activities=4, max_orchestrators=max_orchestrators) as host:
            payload = {"request": request, "receivedAt": "2026-11-22T00:00:00Z"}
            instance_id = await host.start_new("data_request", payload, instance_id=request["requestId"])
            instance = await host.wait(instance_id, timeout=timeout)
            custom = json.loads(instance.custom_status) if instance.custom_status else None
            return instance.status, output_of(instance), custom

    return asyncio.run(go())
