"""Everything a running emulator holds, behind one app key; `reseed` swaps the dataset in place.

The server listens before it is seeded: `start` opens blob storage and seeds in the background, `ready`
says when the dataset is there (`GET /_emulator/ready`), and a failed seed stops the server with its cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web

from emulator import seed as seeds
from emulator.blobs import BlobStore
from emulator.config import Config
from emulator.faults import FaultInjector, FaultSettings
from emulator.model import StoredBlob
from emulator.ratelimit import TokenBucket
from emulator.store import Store

log = logging.getLogger("emulator")


@dataclass
class Stats:
    """Counters the benchmark and tests read from `GET /_emulator/stats`."""

    calls: int = 0
    throttled: int = 0  # every 429 answered, by the limiter or injected
    faults: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "throttled": self.throttled,
            "faults": self.faults,
            "byOperation": dict(sorted(self.by_operation.items())),
        }


class Runtime:
    """The store, its blob storage, the rate limiter, fault injection and counters of one emulator."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.seed = config.seed
        self.store = Store()
        prefix = config.blob_prefix or f"run-{uuid.uuid4().hex[:12]}"
        self.blobs = BlobStore(
            config.storage_connection_string,
            config.container,
            prefix,
            sas_ttl=timedelta(minutes=config.sas_ttl_minutes),
        )
        self.bucket = TokenBucket(config.tps)
        self.faults = FaultInjector(FaultSettings(config.fault_rate, config.latency_ms), seed=config.fault_seed)
        self.stats = Stats()
        self.ready = False  # the first seed is in place
        self.failure: str | None = None  # why the first seed failed (the server then stops)
        self.seed_seconds: float | None = None
        self._seeding: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open blob storage (failing fast when it is unreachable), then seed in the background."""
        await self.blobs.start()
        self._seeding = asyncio.get_running_loop().create_task(self._seed_first(), name="emulator-seed")

    async def close(self) -> None:
        """Stop seeding if it still runs, then close blob storage (no session is left open)."""
        if self._seeding is not None and not self._seeding.done():
            self._seeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._seeding
        await self.blobs.close()

    async def _seed_first(self) -> None:
        started = time.monotonic()
        try:
            await self.reseed(self.config.seed)
        except Exception as exc:  # storage failed mid-way: say why, and stop serving an empty dataset
            self.failure = f"seeding {self.config.seed!r} failed: {exc}"
            log.error("%s", self.failure)
            asyncio.get_running_loop().call_soon(_stop_serving)
            return
        self.seed_seconds = round(time.monotonic() - started, 3)
        self.ready = True
        log.info("ready: seed %s, %d projects, %d images in %.1f s", self.seed, len(self.store.projects),
                 self.store.image_count(), self.seed_seconds)

    async def reseed(self, seed_name: str) -> None:
        """Replace the dataset with a freshly built seed (old blobs stay until the container is cleaned).

        The build runs in a thread, so the server keeps answering (503 before the first seed) meanwhile."""
        store, uploads = await asyncio.to_thread(seeds.build, seed_name)
        await self.blobs.put_many(uploads)
        self.store = store
        self.seed = seed_name
        self.stats = Stats()
        # A fresh limit window too: what callers did before the reset must not throttle what comes after.
        self.bucket = TokenBucket(self.bucket.rate, capacity=self.bucket.capacity)

    def link(self, blob: StoredBlob) -> str:
        return self.blobs.read_url(blob.name)


def _stop_serving() -> None:
    """Shut the server down as a SIGTERM would (aiohttp's run_app catches GracefulExit and cleans up)."""
    raise web.GracefulExit()


RUNTIME = web.AppKey("runtime", Runtime)


def runtime(request: web.Request) -> Runtime:
    """The Runtime of the app serving `request` (sub-apps see the root's keys)."""
    return request.config_dict[RUNTIME]
