"""Instance queries come in pages, as from the Durable extension: 100 instances a page by default (`top` sets
another size) and an `x-ms-continuation-token` header for the next one (HttpApiHandler.HandleGetStatusRequestAsync,
OrchestrationStatusQueryCondition.PageSize = 100). The Python SDK's `get_status_by` reads only the first
page, so every listing the app makes follows the continuation itself."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import azure.durable_functions as df
import pytest
from aiohttp.test_utils import TestClient, TestServer
from azure.durable_functions.models.utils import http_utils

from devhost.app import create_app
from devhost.appstate import ENGINE, Settings
from devhost.config import load_host_config
from devhost.durable_api import client_binding
from devhost.indexer import load
from devhost.keys import HostKeys
from triggers.housekeeping import DurableHistory
from triggers.schedules import ScheduledOrchestrations

APPS = Path(__file__).parent / "apps"
KEYS = HostKeys(function="fk", system="sk", master="mk")
WEBHOOK = "/runtime/webhooks/durabletask/instances"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario) -> None:  # type: ignore[no-untyped-def]
    app_dir = APPS / "triggers"
    monkeypatch.setenv("TICK_SCHEDULE", "0 0 0 1 1 *")
    settings = Settings(app_dir=app_dir, state_dir=tmp_path / "state", port=7071, keys=KEYS,
                        host=load_host_config(app_dir), rpc_port=free_port())
    app = create_app(settings, load(app_dir))

    async def main() -> None:
        try:
            async with TestClient(TestServer(app)) as client:
                await scenario(client, app, df.DurableOrchestrationClient(client_binding(settings)))
        finally:
            await http_utils._close_session()

    asyncio.run(main())


async def create(app, count: int, prefix: str) -> None:  # type: ignore[no-untyped-def]
    engine = app[ENGINE]
    for i in range(count):
        await engine.db(engine.store.create, "approval", f"{prefix}{i:03d}", None)


def test_instance_listings_come_in_pages_of_100(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(client: TestClient, app, _) -> None:  # type: ignore[no-untyped-def]
        await create(app, 150, "page-")
        first = await client.get(WEBHOOK, headers={"x-functions-key": "sk"})
        assert len(await first.json()) == 100
        token = first.headers["x-ms-continuation-token"]
        assert token
        second = await client.get(WEBHOOK, headers={"x-functions-key": "sk", "x-ms-continuation-token": token})
        rest = await second.json()
        assert len(rest) == 50 and not second.headers.get("x-ms-continuation-token")
        small = await client.get(WEBHOOK + "?top=7", headers={"x-functions-key": "sk"})
        assert len(await small.json()) == 7
        ids = {i["instanceId"] for i in await first.json()} | {i["instanceId"] for i in rest}
        assert len(ids) == 150

    run(tmp_path, monkeypatch, scenario)


def test_the_schedulers_running_ids_follow_the_continuation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(_client: TestClient, app, durable) -> None:  # type: ignore[no-untyped-def]
        await create(app, 130, "sched-weekly-")
        await create(app, 5, "other-")
        running = await ScheduledOrchestrations(durable).running_ids("sched-weekly-")
        assert len(running) == 130 and all(i.startswith("sched-weekly-") for i in running)

    run(tmp_path, monkeypatch, scenario)


def test_housekeeping_purges_every_page_of_finished_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(_client: TestClient, app, durable) -> None:  # type: ignore[no-untyped-def]
        engine = app[ENGINE]
        await create(app, 140, "done-")
        await create(app, 3, "busy-")
        for i in range(140):
            await engine.db(engine.store.terminate, f"done-{i:03d}", "finished")
        purged = await DurableHistory(durable).purge_finished(datetime.now(UTC) + timedelta(minutes=1),
                                                              ("Completed", "Failed", "Terminated"))
        assert purged == 140
        left = await engine.db(engine.store.query)
        assert sorted(i.instance_id for i in left) == ["busy-000", "busy-001", "busy-002"]

    run(tmp_path, monkeypatch, scenario)
