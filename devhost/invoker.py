"""Run user code off the server's event loop: sync functions in thread pools, async ones on one
dedicated event loop (as the Python worker does), each with its function name and invocation id
in the log records."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func

from devhost.failures import FunctionTimeout, timespan

log = logging.getLogger("devhost")
current_invocation: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "devhost_invocation", default=None)


class InvocationFilter(logging.Filter):
    """Stamp each record with the function name and invocation id of the code that logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = current_invocation.get()
        if not hasattr(record, "function"):
            record.function = current[0] if current else "-"
        if not hasattr(record, "invocation_id"):
            record.invocation_id = current[1] if current else "-"
        return True


class Context(func.Context):
    """The `context` argument a function may declare."""

    def __init__(self, name: str, invocation_id: str, directory: str):
        self._name, self._id, self._directory = name, invocation_id, directory
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return self._directory

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


class Invoker:
    """Thread pools per kind of work plus one event loop thread for async user code."""

    def __init__(self, *, activities: int, orchestrators: int, functions: int = 16,
                 function_timeout: float | None = None):
        self.function_timeout = function_timeout  # host.json's functionTimeout, seconds (None: unbounded)
        self.pools = {
            "activity": ThreadPoolExecutor(activities, thread_name_prefix="activity"),
            "orchestrator": ThreadPoolExecutor(orchestrators, thread_name_prefix="orchestrator"),
            "function": ThreadPoolExecutor(functions, thread_name_prefix="function"),
        }
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="user-loop", daemon=True)
        self._thread.start()

    async def call(self, name: str, fn: Callable[..., Any], *args: Any, pool: str = "function",
                   invocation_id: str | None = None, reason: str = "", bound: dict[str, Any] | None = None) -> Any:
        """Invoke `fn` as function `name` with `args` and the binding values `bound` (by parameter name, so a
        binding may be called `name` or `reason`), logging Executing/Executed like the Functions host."""
        kwargs = dict(bound or {})
        invocation_id = invocation_id or str(uuid.uuid4())
        extra = {"function": name, "invocation_id": invocation_id}
        log.info("Executing 'Functions.%s' (Reason='%s')", name, reason, extra=extra)
        started = time.monotonic()
        try:
            if asyncio.iscoroutinefunction(fn):
                running = asyncio.ensure_future(self._call_async(fn, args, kwargs, (name, invocation_id)))
            else:
                running = asyncio.get_running_loop().run_in_executor(
                    self.pools[pool], _with_invocation, (name, invocation_id), fn, args, kwargs)
            limit = self.function_timeout
            done, _ = await asyncio.wait({running}, timeout=limit)
            if limit is not None and not done:
                # As the Functions host: the execution fails (its thread cannot be stopped: its result is dropped)
                log.error("Timeout value of %s exceeded by function '%s' (Id: '%s'). Initiating cancellation.",
                          timespan(limit), name, invocation_id, extra=extra)
                running.cancel()
                raise FunctionTimeout(name, limit)
            result = running.result()
        except Exception as exc:
            log.error("Executed 'Functions.%s' (Failed, Duration=%dms): %s: %s", name,
                      (time.monotonic() - started) * 1000, type(exc).__name__, exc, extra=extra)
            raise
        log.info("Executed 'Functions.%s' (Succeeded, Duration=%dms)", name,
                 (time.monotonic() - started) * 1000, extra=extra)
        return result

    async def _call_async(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                          invocation: tuple[str, str]) -> Any:
        async def run() -> Any:
            current_invocation.set(invocation)
            return await fn(*args, **kwargs)

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _with_invocation(invocation: tuple[str, str], fn: Callable[..., Any], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
    current_invocation.set(invocation)
    return fn(*args, **kwargs)
