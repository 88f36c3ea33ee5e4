"""A small Python API over the engine, for tests of orchestrations without HTTP.

    async with LocalDurableHost(app) as host:
        instance_id = await host.start_new("my_orchestrator", {"n": 3})
        status = await host.wait(instance_id)
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions._durable_functions import df_dumps

from devhost.engine import Engine
from devhost.indexer import AppIndex, index
from devhost.invoker import Invoker
from devhost.store import Instance, Store
from dsr.runtime_status import TERMINAL_STATUSES


class LocalDurableHost:
    """The engine on a temp or in-memory SQLite store, driven from Python."""

    def __init__(self, app: func.FunctionRegister | AppIndex, *, store_path: Path | str = ":memory:",
                 max_activities: int = 4, max_orchestrators: int = 4, function_timeout: float | None = None):
        self.app = app if isinstance(app, AppIndex) else index(app)
        self.store = Store(store_path)
        self.invoker = Invoker(activities=max_activities, orchestrators=max_orchestrators,
                               function_timeout=function_timeout)
        self.engine = Engine(self.store, self.app, self.invoker, max_activities=max_activities,
                             max_orchestrators=max_orchestrators)

    async def __aenter__(self) -> LocalDurableHost:
        self.engine.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.stop(drain=0)  # one worker on its own store: nothing to hand over
        self.invoker.close()
        self.store.close()

    async def start_new(self, name: str, input_: Any = None, instance_id: str | None = None) -> str:
        instance_id = instance_id or uuid.uuid4().hex
        payload = None if input_ is None else json.dumps(df_dumps(input_))  # as the client posts it
        await self.engine.db(self.store.create, name, instance_id, payload)
        self.engine.wake()
        return instance_id

    async def raise_event(self, instance_id: str, name: str, data: Any = None) -> str:
        result = await self.engine.db(self.store.raise_event, instance_id, name, df_dumps(data))
        self.engine.wake()
        return result

    async def terminate(self, instance_id: str, reason: str) -> str:
        return await self.engine.db(self.store.terminate, instance_id, reason)

    async def status(self, instance_id: str) -> Instance | None:
        return await self.engine.db(self.store.get, instance_id)

    async def history(self, instance_id: str) -> list[dict[str, Any]]:
        return await self.engine.db(self.store.history, instance_id)

    async def wait(self, instance_id: str, *, timeout: float = 30.0) -> Instance:
        """Poll until the instance reaches a terminal status; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = await self.status(instance_id)
            if current is not None and current.status in TERMINAL_STATUSES:
                return current
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{instance_id} did not finish in {timeout}s")


def output_of(instance: Instance) -> Any:
    """The decoded output of a finished instance."""
    return None if instance.output is None else json.loads(instance.output)
