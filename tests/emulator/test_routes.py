"""The route table is the spec's: every path, method and operationId matches the official document."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from emulator.app import PREFIXES, ROUTES, create_app
from emulator.config import Config
from localrun.azurite import Azurite
from tests.emulator.spec import SpecValidator
from tests.emulator.test_startup import wait_ready


def test_every_route_is_a_spec_operation(spec: SpecValidator) -> None:
    seen = set()
    for method, path, _handler, operation in ROUTES:
        assert spec.operations[operation] is spec.operation_at(path, method), (method, path, operation)
        seen.add(operation)
    assert len(seen) == len(ROUTES), "each operation registered once"


def test_factory_serves_both_versions(azurite: Azurite) -> None:
    """The production factory, in process, on a free port with aiohttp's own test client."""

    async def run() -> None:
        config = Config(seed="empty", storage_connection_string=azurite.connection_string, tps=0)
        async with TestClient(TestServer(create_app(config))) as client:
            await wait_ready(client)  # the server listens first and seeds in the background
            for prefix in PREFIXES:
                response = await client.get(prefix + "/projects", headers={"Training-Key": config.training_key})
                assert (response.status, await response.json()) == (200, [])
            response = await client.get("/_emulator/stats", headers={"Training-Key": config.training_key})
            assert (await response.json())["byOperation"] == {"GetProjects": 2}

    asyncio.run(run())
