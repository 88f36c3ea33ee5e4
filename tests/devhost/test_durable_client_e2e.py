"""The SDK's unmodified DurableOrchestrationClient against devhost's Durable HTTP API."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions.models.utils import http_utils

from devhost.appstate import Settings
from devhost.config import HostConfig
from devhost.durable_api import client_binding
from devhost.keys import KEY_FILE, HostKeys
from localrun.devhost import Devhost
from tests.fixtures.devhost import DevhostFactory

APPS = Path(__file__).parent / "apps"
pytestmark = pytest.mark.e2e
Status = df.OrchestrationRuntimeStatus


@pytest.fixture
def host(devhost_factory: DevhostFactory, tmp_path: Path) -> Devhost:
    app_dir = tmp_path / "triggers"
    shutil.copytree(APPS / "triggers", app_dir)
    (app_dir / "local.settings.json").write_text(json.dumps({"Values": {"TICK_SCHEDULE": "0 0 0 1 1 *"}}))
    return devhost_factory(app_dir)


def system_key(host: Devhost) -> str:
    """The durabletask system key devhost generated and keeps in its state dir."""
    return str(json.loads((host.state_dir / KEY_FILE).read_text())["systemKey"])


def make_client(host: Devhost) -> df.DurableOrchestrationClient:
    """A client built from the same binding payload devhost gives a durableClient function."""
    settings = Settings(app_dir=host.app_dir, state_dir=host.state_dir, port=host.port,
                        keys=HostKeys(host.function_key, system_key(host), host.master_key),
                        host=HostConfig(hub_name="TriggersHub"),
                        rpc_port=host.rpc_port)
    return df.DurableOrchestrationClient(client_binding(settings))


async def wait_for(client: df.DurableOrchestrationClient, instance_id: str,
                   *wanted: Status) -> df.DurableOrchestrationStatus:
    for _ in range(200):
        status = await client.get_status(instance_id)
        if status and status.runtime_status in wanted:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance_id} never reached {wanted}")


def run(coro_factory) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        try:
            await coro_factory()
        finally:
            await http_utils._close_session()  # the SDK keeps one session per process

    asyncio.run(main())


def test_start_status_raise_terminate_purge(host: Devhost) -> None:
    client = make_client(host)

    async def scenario() -> None:
        assert await client.start_new("approval", "c1", {"amount": 5}) == "c1"
        with pytest.raises(Exception, match="already exists"):
            await client.start_new("approval", "c1", {"amount": 6})
        running = await wait_for(client, "c1", Status.Running)
        assert running.custom_status == "waiting"
        assert running.name == "approval" and running.instance_id == "c1"

        shown = await client.get_status("c1", show_history=True, show_input=True)
        assert json.loads(shown.input_) == {"amount": 5}
        assert shown.historyEvents[0]["EventType"] == "ExecutionStarted"

        await client.raise_event("c1", "decision", "approved")
        done = await wait_for(client, "c1", Status.Completed)
        assert done.output == {"request": {"amount": 5}, "decision": "approved"}

        await client.start_new("approval", "c2")
        await wait_for(client, "c2", Status.Running)
        await client.terminate("c2", "no longer needed")
        terminated = await wait_for(client, "c2", Status.Terminated)
        assert terminated.output == "no longer needed"
        await client.terminate("c2", "again")  # 410: already finished, not an error

        finished = await client.get_status_by(runtime_status=[Status.Terminated])
        assert [s.instance_id for s in finished] == ["c2"]
        assert {s.instance_id for s in await client.get_status_all()} == {"c1", "c2"}

        assert (await client.purge_instance_history("c2")).instances_deleted == 1
        assert not await client.get_status("c2")
        assert (await client.purge_instance_history("c2")).instances_deleted == 0

        since = datetime.now(UTC) - timedelta(hours=1)
        purged = await client.purge_instance_history_by(created_time_from=since, runtime_status=[Status.Completed])
        assert purged.instances_deleted == 1
        assert await client.get_status_all() == []

        assert await client.start_new("approval", "c1") == "c1"  # a finished id may be reused

    run(scenario)


def test_check_status_response_carries_the_key(host: Devhost) -> None:
    client = make_client(host)
    request = func.HttpRequest(method="POST", url=f"{host.base_url}/v1/start", headers={}, params={},
                               route_params={}, body=b"")

    async def scenario() -> None:
        instance_id = await client.start_new("approval", None, "x")
        response = client.create_check_status_response(request, instance_id)
        assert response.status_code == 202
        payload = json.loads(response.get_body())
        assert payload["id"] == instance_id
        assert payload["statusQueryGetUri"].startswith(f"{host.base_url}/runtime/webhooks/durabletask/instances/")
        assert f"code={system_key(host)}" in payload["statusQueryGetUri"]  # as on Azure
        assert response.headers["Location"] == payload["statusQueryGetUri"]
        polled = host.wait_for_status(payload["statusQueryGetUri"], until=("Running",), timeout=10)
        assert polled["input"] == '"x"'  # the client posts SDK-serialized JSON, kept as the host does
        event_uri = payload["sendEventPostUri"].replace("{eventName}", "decision")
        assert host.post(event_uri.removeprefix(host.base_url), json="ok").status_code == 202
        assert host.wait_for_status(payload["statusQueryGetUri"], timeout=10)["output"]["decision"] == "ok"

    run(scenario)


def test_unknown_orchestrator_is_a_clean_error(host: Devhost) -> None:
    client = make_client(host)

    async def scenario() -> None:
        with pytest.raises(Exception, match="doesn't exist"):
            await client.start_new("nope")
        assert not await client.get_status("missing")

    run(scenario)


def test_activity_with_a_durable_client_binding(host: Devhost) -> None:
    response = host.post("runtime/webhooks/durabletask/orchestrators/self_check/peeker")
    assert response.status_code == 202
    status = host.wait_for_status(response.json()["statusQueryGetUri"], timeout=15)
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "Running")


def test_create_and_wait_returns_the_output(host: Devhost) -> None:
    response = host.post("runtime/webhooks/durabletask/orchestrators/self_check/waited?timeout=10&pollingInterval=0.1")
    assert (response.status_code, response.json()) == (200, "Running")
    pending = host.post("runtime/webhooks/durabletask/orchestrators/approval/slow?timeout=0.3&pollingInterval=0.1")
    assert pending.status_code == 202 and pending.json()["id"] == "slow"


def test_suspend_holds_events_until_resume(host: Devhost) -> None:
    client = make_client(host)

    async def scenario() -> None:
        await client.start_new("approval", "s1", {"n": 1})
        await wait_for(client, "s1", Status.Running)
        await client.suspend("s1", "hold on")
        await wait_for(client, "s1", Status.Suspended)
        await client.raise_event("s1", "decision", "later")
        await asyncio.sleep(0.5)
        assert (await client.get_status("s1")).runtime_status == Status.Suspended
        await client.resume("s1", "go")
        done = await wait_for(client, "s1", Status.Completed)
        assert done.output == {"request": {"n": 1}, "decision": "later"}

    run(scenario)
