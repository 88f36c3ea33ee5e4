"""The production app factory in-process, with aiohttp's real test client on a free port."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from devhost.app import create_app, describe_routes
from devhost.appstate import Settings
from devhost.config import load_host_config
from devhost.indexer import load
from devhost.keys import HostKeys

APPS = Path(__file__).parent / "apps"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_factory_serves_triggers_and_durable_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app_dir = APPS / "triggers"
    monkeypatch.setenv("TICK_SCHEDULE", "0 0 0 1 1 *")
    keys = HostKeys(function="key", system="system-key", master="master-key")
    settings = Settings(app_dir=app_dir, state_dir=tmp_path / "state", port=7071, keys=keys,
                        host=load_host_config(app_dir), rpc_port=free_port())
    app = create_app(settings, load(app_dir))
    lines = describe_routes(app)
    assert any("/v1/items/{id:int}/{*rest}" in line and "auth: function" in line for line in lines)
    assert any(line.strip() == "tick: timerTrigger" for line in lines)

    async def scenario() -> None:
        async with TestClient(TestServer(app)) as client:
            assert (await client.get("/v1/items/3")).status == 401
            found = await client.get("/v1/items/3", headers={"x-functions-key": "key"})
            assert await found.json() == {"id": "3", "rest": None}
            assert (await client.get("/runtime/webhooks/durabletask/instances?code=key")).status == 401
            started = await client.post("/runtime/webhooks/durabletask/orchestrators/approval/a1?code=system-key",
                                        json={"n": 1})
            assert started.status == 202
            body = await started.json()
            assert body["statusQueryGetUri"].endswith(
                "instances/a1?taskHub=TriggersHub&connection=Storage&code=system-key")
            missing = await client.get("/runtime/webhooks/durabletask/instances/nope?code=master-key")
            assert missing.status == 404
            listed = await client.get(
                "/runtime/webhooks/durabletask/instances?code=system-key&runtimeStatus=Pending,Running")
            assert [i["instanceId"] for i in await listed.json()] == ["a1"]

    asyncio.run(scenario())
