"""Settings and the typed app keys shared by devhost's handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from devhost.config import HostConfig
from devhost.engine import Engine
from devhost.http_triggers import HttpRoute
from devhost.indexer import AppIndex
from devhost.invoker import Invoker
from devhost.keys import HostKeys
from devhost.store import DEFAULT_LEASE_SECONDS, Store, worker_id

WEBHOOK_PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/durabletask"


@dataclass(frozen=True)
class Settings:
    """Everything `create_app` needs, resolved by the command line."""

    app_dir: Path
    state_dir: Path
    port: int
    keys: HostKeys
    host: HostConfig
    rpc_port: int
    bind: str = "127.0.0.1"
    lease_seconds: float = DEFAULT_LEASE_SECONDS  # how long this worker's claims last unless renewed
    worker: str = field(default_factory=worker_id)  # this process's name on its leases

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rpc_base_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}{RPC_PREFIX}/"

    @property
    def store_path(self) -> Path:
        return self.state_dir / f"{self.host.hub_name}.sqlite3"


SETTINGS = web.AppKey("settings", Settings)
INDEX = web.AppKey("index", AppIndex)
STORE = web.AppKey("store", Store)
ENGINE = web.AppKey("engine", Engine)
INVOKER = web.AppKey("invoker", Invoker)
ROUTES = web.AppKey("routes", list[HttpRoute])
REQUIRE_KEY = web.AppKey("require_key", bool)
