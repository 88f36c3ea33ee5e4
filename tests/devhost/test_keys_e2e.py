"""devhost's keys as Azure's: a function key, the durabletask system key and the master key, each opening
only what it opens on Azure (Azure/azure-functions-host AuthenticationLevelHandler.cs: the `x-functions-key`
header takes precedence over `code`; SecretManager.GetAuthorizationLevelAsync: master = Admin, system key =
System, function key = Function; AuthUtility.PrincipalHasAuthLevelClaim: System does not open a
function-level route; the webhook handler needs System or Admin; FunctionsController: a request that maps
to no function, a wrong method included, is 404)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from localrun.ports import free_port
from tests.devhost.test_devhost_e2e import triggers_app
from tests.fixtures.devhost import DevhostFactory

APPS = Path(__file__).parent / "apps"
WEBHOOKS = "runtime/webhooks/durabletask"
pytestmark = pytest.mark.e2e


def get(host_url: str, path: str, key: str | None = None, *, where: str = "header", **kwargs: object) -> int:
    headers = {"x-functions-key": key} if key is not None and where == "header" else {}
    params = {"code": key} if key is not None and where == "code" else {}
    return requests.get(f"{host_url}/{path}", headers=headers, params=params, timeout=10, **kwargs).status_code


def test_each_key_opens_what_it_opens_on_azure(devhost_factory: DevhostFactory, tmp_path: Path) -> None:
    host = devhost_factory(triggers_app(tmp_path, schedule="0 0 0 1 1 *"))
    base, function, master = host.base_url, host.function_key, host.master_key
    system = json.loads((host.state_dir / "keys.json").read_text())["systemKey"]
    assert len({function, system, master}) == 3

    item, admin_route = "v1/items/5/a", "v1/admin-only"
    assert [get(base, item, k) for k in (None, function, system, master)] == [401, 200, 401, 200]
    assert [get(base, admin_route, k) for k in (None, function, system, master)] == [401, 401, 401, 200]
    instances = f"{WEBHOOKS}/instances"
    assert [get(base, instances, k) for k in (None, function, system, master)] == [401, 401, 200, 200]
    status = "admin/host/status"
    assert [get(base, status, k) for k in (None, function, system, master)] == [401, 401, 401, 200]
    invoke = requests.post(f"{base}/admin/functions/tick", headers={"x-functions-key": function}, json={}, timeout=10)
    assert invoke.status_code == 401


def test_the_header_wins_over_code(devhost_factory: DevhostFactory, tmp_path: Path) -> None:
    host = devhost_factory(triggers_app(tmp_path, schedule="0 0 0 1 1 *"))
    url = f"{host.base_url}/v1/items/5/a"
    both_wrong_header = requests.get(url, headers={"x-functions-key": "wrong"}, params={"code": host.function_key},
                                     timeout=10)
    assert both_wrong_header.status_code == 401
    empty_header = requests.get(url, headers={"x-functions-key": ""}, params={"code": host.function_key}, timeout=10)
    assert empty_header.status_code == 401  # a present header is the key, even empty
    right_header = requests.get(url, headers={"x-functions-key": host.function_key}, params={"code": "wrong"},
                                timeout=10)
    assert right_header.status_code == 200


def test_a_wrong_method_is_404(devhost_factory: DevhostFactory, tmp_path: Path) -> None:
    host = devhost_factory(triggers_app(tmp_path, schedule="0 0 0 1 1 *"))
    assert host.post("v1/items/5/x").status_code == 404  # the route is GET only
    assert host.request("PUT", f"{WEBHOOKS}/instances").status_code == 404
    assert host.request("GET", "admin/functions/tick").status_code == 404


def test_management_urls_carry_the_system_key_never_the_function_or_master_key(
    devhost_factory: DevhostFactory, tmp_path: Path
) -> None:
    host = devhost_factory(APPS / "fanout", env={"FANOUT_ATTEMPTS": str(tmp_path / "a")})
    system = json.loads((host.state_dir / "keys.json").read_text())["systemKey"]
    started = host.post("api/start/fan_out", json={"count": 1})
    assert started.status_code == 202
    for url in started.json().values():
        if "://" in url:
            assert parse_qs(urlsplit(url).query)["code"] == [system]
    assert host.function_key not in started.text and host.master_key not in started.text
    finished = host.wait_for_status(started.json()["statusQueryGetUri"], timeout=60)
    assert finished["runtimeStatus"] == "Completed"


def test_keys_not_given_are_generated_once_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    argv = [sys.executable, "-m", "devhost", "--app-dir", str(APPS / "fanout"), "--state-dir", str(state)]
    runs = []
    for extra in ([], ["--master-key", "mk-given-on-the-command-line"]):
        process = subprocess.Popen([*argv, "--port", str(free_port()), *extra], stdout=subprocess.PIPE, text=True,
                                   cwd=Path(__file__).resolve().parents[2])
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if line.startswith("Master key"):
                    break
            runs.append("".join(lines))
        finally:
            process.terminate()
            process.wait(timeout=20)
    stored = json.loads((state / "keys.json").read_text())
    assert set(stored) == {"functionKey", "systemKey", "masterKey"}
    assert all(value in runs[0] for value in stored.values())  # printed when generated
    assert not any(value in runs[1] for value in stored.values())  # not again
    assert "Master key: given on the command line" in runs[1]
    assert oct((state / "keys.json").stat().st_mode & 0o777) == "0o600"
