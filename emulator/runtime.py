"""Everything a running emulator holds, behind one app key; `reseed` swaps the dataset in place."""

from __future__ import annotations

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

    async def start(self) -> None:
        await self.blobs.start()
        await self.reseed(self.config.seed)

    async def close(self) -> None:
        await self.blobs.close()

    async def reseed(self, seed_name: str) -> None:
        """Replace the dataset with a freshly built seed (old blobs stay until the container is cleaned)."""
        store, uploads = seeds.build(seed_name)
        await self.blobs.put_many(uploads)
        self.store = store
        self.seed = seed_name
        self.stats = Stats()
        # A fresh limit window too: what callers did before the reset must not throttle what comes after.
        self.bucket = TokenBucket(self.bucket.rate, capacity=self.bucket.capacity)

    def link(self, blob: StoredBlob) -> str:
        return self.blobs.read_url(blob.name)


RUNTIME = web.AppKey("runtime", Runtime)


def runtime(request: web.Request) -> Runtime:
    """The Runtime of the app serving `request` (sub-apps see the root's keys)."""
    return request.config_dict[RUNTIME]
