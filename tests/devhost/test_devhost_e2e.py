"""devhost as a process (`python -m devhost`), driven over HTTP like a user or CI would."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from localrun.devhost import Devhost
from localrun.ports import free_port
from tests.fixtures.devhost import DevhostFactory

APPS = Path(__file__).parent / "apps"
pytestmark = pytest.mark.e2e


def fanout_env(tmp_path: Path) -> dict[str, str]:
    """The sample's ledgers, and short leases: a restarted devhost takes a killed one's work over after 3 s."""
    return {"FANOUT_ATTEMPTS": str(tmp_path / "attempts"), "FANOUT_LEDGER": str(tmp_path / "ledger"),
            "DEVHOST_LEASE_SECONDS": "3"}


def start_fanout(host: Devhost, body: dict[str, object], instance_id: str | None = None) -> dict[str, str]:
    path = "api/start/fan_out" + (f"?id={instance_id}" if instance_id else "")
    response = host.post(path, json=body)
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == response.json()["statusQueryGetUri"]
    return response.json()


def expected_fanout(count: int) -> dict[str, object]:
    results = [i * i for i in range(count)]
    return {"count": count, "sum": sum(results), "results": results}


def test_fan_out_with_retry_sub_orchestrator_and_timer(devhost_factory: DevhostFactory, tmp_path: Path) -> None:
    host = devhost_factory(APPS / "fanout", env=fanout_env(tmp_path))
    links = start_fanout(host, {"count": 50})
    assert f"code={host.function_key}" not in links["statusQueryGetUri"]  # the system key, as on Azure
    status = host.wait_for_status(links["statusQueryGetUri"], timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == expected_fanout(50)
    assert status["customStatus"] == {"fannedIn": 50}
    assert (tmp_path / "attempts").read_text() == "3"  # item 7 failed twice, then succeeded
    assert set(status) >= {"name", "instanceId", "runtimeStatus", "input", "customStatus", "output",
                           "createdTime", "lastUpdatedTime"}
    history = requests.get(links["statusQueryGetUri"] + "&showHistory=true&showHistoryOutput=true", timeout=10)
    events = history.json()["historyEvents"]
    assert events[0]["EventType"] == "ExecutionStarted"
    assert events[-1]["EventType"] == "ExecutionCompleted"
    assert sum(e["EventType"] == "TaskFailed" for e in events) == 2
    assert sum(e["EventType"] == "SubOrchestrationInstanceCompleted" for e in events) == 1


def test_sigkill_mid_run_resumes_without_lost_or_duplicated_results(devhost_factory: DevhostFactory,
                                                                   tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = fanout_env(tmp_path)
    host = devhost_factory(APPS / "fanout", state_dir=state, env=env)
    start_fanout(host, {"count": 50, "delay": 0.15}, instance_id="crash-run")
    ledger = tmp_path / "ledger"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not ledger.exists() or len(ledger.read_text().split()) < 12):
        time.sleep(0.05)
    host.kill()  # SIGKILL while activities are in flight
    ran_before = len(ledger.read_text().split())
    assert 12 <= ran_before < 50

    again = devhost_factory(APPS / "fanout", state_dir=state, env=env)
    status = again.wait_for_status(f"{again.base_url}/runtime/webhooks/durabletask/instances/crash-run"
                                   f"?code={again.master_key}", timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == expected_fanout(50)
    history = again.get("runtime/webhooks/durabletask/instances/crash-run?showHistory=true").json()
    completed = [e for e in history["historyEvents"] if e["EventType"] == "TaskCompleted"
                 and e["FunctionName"] == "work"]
    assert len(completed) == 50  # one completion per fan-out task: nothing lost, nothing doubled
    assert set(ledger.read_text().split()) == {str(i) for i in range(50)}


def test_http_auth_routes_and_prefix(devhost_factory: DevhostFactory, tmp_path: Path) -> None:
    app_dir = triggers_app(tmp_path, schedule="0 0 0 1 1 *")
    host = devhost_factory(app_dir)
    base = host.base_url
    assert requests.get(f"{base}/v1/items/5/a/b", timeout=10).status_code == 401
    ok = requests.get(f"{base}/v1/items/5/a/b?code={host.function_key}", timeout=10)
    assert ok.status_code == 200 and ok.json() == {"id": "5", "rest": "a/b"}
    assert ok.headers["Content-Type"].startswith("application/json")
    assert host.get("v1/items/five").status_code == 404  # {id:int} does not match
    assert host.post("v1/items/5/x").status_code == 404  # no function has this route and method
    assert requests.get(f"{base}/v1/admin-only", headers={"x-functions-key": "wrong"}, timeout=10).status_code == 401
    assert host.get("v1/admin-only").status_code == 401  # an admin-level route needs the master key
    admin = requests.get(f"{base}/v1/admin-only", headers={"x-functions-key": host.master_key}, timeout=10)
    assert admin.text == "secret area"
    assert requests.get(f"{base}/v1/boom", timeout=10).status_code == 500
    assert requests.get(f"{base}/api/items/5", timeout=10).status_code == 404  # prefix is v1 here
    assert requests.get(f"{base}/runtime/webhooks/durabletask/instances", timeout=10).status_code == 401
    assert requests.post(f"{base}/admin/functions/tick", json={}, timeout=10).status_code == 401
    assert host.get("admin/host/status").json()["state"] == "Running"


def triggers_app(tmp_path: Path, *, schedule: str) -> Path:
    """A copy of the triggers app with a local.settings.json (kept out of git by .gitignore)."""
    app_dir = tmp_path / "triggers"
    shutil.copytree(APPS / "triggers", app_dir)
    settings = {"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", "TICK_SCHEDULE": schedule,
                                                 "SERVICEBUS_CONNECTION": "Endpoint=sb://unused.local/"}}
    (app_dir / "local.settings.json").write_text(json.dumps(settings))
    return app_dir


def test_timer_trigger_fires_on_schedule(devhost_factory: DevhostFactory, tmp_path: Path) -> None:
    app_dir = triggers_app(tmp_path, schedule="*/1 * * * * *")
    ledger = tmp_path / "ticks"
    devhost_factory(app_dir, env={"TICK_LEDGER": str(ledger)})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not ledger.exists() or len(ledger.read_text().splitlines()) < 3):
        time.sleep(0.1)
    ticks = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert len(ticks) >= 3  # run_on_startup + at least two scheduled firings


def test_service_bus_trigger_via_admin_endpoint(devhost_factory: DevhostFactory, tmp_path: Path) -> None:
    app_dir = triggers_app(tmp_path, schedule="0 0 0 1 1 *")
    ledger = tmp_path / "messages"
    host = devhost_factory(app_dir, env={"SB_LEDGER": str(ledger)})
    body = {"input": json.dumps({"requestId": "case-1"}), "messageId": "msg-1", "deliveryCount": 2,
            "applicationProperties": {"source": "test"}}
    assert host.invoke("on_message", body).status_code == 202
    status_url = f"{host.base_url}/runtime/webhooks/durabletask/instances/msg-1?code={host.master_key}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and requests.get(status_url, timeout=5).status_code == 404:
        time.sleep(0.1)
    record = json.loads(ledger.read_text().splitlines()[0])
    assert record == {"body": '{"requestId": "case-1"}', "messageId": "msg-1", "deliveryCount": 2,
                      "applicationProperties": {"source": "test"}}
    raised = host.post("runtime/webhooks/durabletask/instances/msg-1/raiseEvent/decision", json="approved")
    assert raised.status_code == 202
    status = host.wait_for_status(status_url, timeout=10)
    assert status["output"] == {"request": {"requestId": "case-1"}, "decision": "approved"}
    assert host.invoke("no_such_function", {"input": "x"}).status_code == 404
    assert host.invoke("on_text", {"input": "just text"}).status_code == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(ledger.read_text().splitlines()) < 2:
        time.sleep(0.05)
    assert json.loads(ledger.read_text().splitlines()[1]) == {"text": "just text"}


@pytest.mark.parametrize(("source", "message"), [
    ("raise ImportError('missing dependency')\n", "importing"),
    ("import azure.functions as func\napp = func.FunctionApp()\n"
     "@app.blob_trigger(arg_name='b', path='c/{name}', connection='X')\ndef f(b): pass\n", "blobTrigger"),
])
def test_bad_app_exits_non_zero_with_clear_error(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "function_app.py").write_text(source)
    result = subprocess.run([sys.executable, "-m", "devhost", "--app-dir", str(tmp_path), "--port", "0",
                             "--function-key", "k"], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 1
    assert message in result.stderr


def test_generated_key_is_printed_once_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    argv = [sys.executable, "-m", "devhost", "--app-dir", str(APPS / "fanout"), "--state-dir", str(state)]
    printed = []
    for _ in range(2):
        process = subprocess.Popen([*argv, "--port", str(free_port())], stdout=subprocess.PIPE, text=True,
                                   cwd=Path(__file__).resolve().parents[2])
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if "Function key" in line:
                    break
            printed.append(lines[-1])
            assert any("http_start: [POST]" in line for line in lines)
        finally:
            process.terminate()
            process.wait(timeout=20)
    key = json.loads((state / "keys.json").read_text())["functionKey"]
    assert key in printed[0]
    assert key not in printed[1] and "stored in" in printed[1]
