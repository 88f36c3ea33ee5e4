"""Opt-in fault injection: random 429/500/503/dropped connections from a fixed seed, latency, deny rules."""

from __future__ import annotations

import pytest
import requests

from tests.emulator.spec import SpecValidator


@pytest.fixture(scope="module")
def server(emulator_factory):  # type: ignore[no-untyped-def]
    return emulator_factory("demo", tps=0)


def _outcomes(url: str, key: str, n: int) -> list[str]:
    out = []
    for _ in range(n):
        try:
            out.append(str(requests.get(url, headers={"Training-Key": key}, timeout=30).status_code))
        except requests.ConnectionError:
            out.append("drop")
    return out


def test_fault_rate_mixes_429_5xx_and_drops(server, spec: SpecValidator) -> None:  # type: ignore[no-untyped-def]
    url = f"{server.endpoint}/customvision/v3.3/training/projects"
    assert server.set_faults(faultRate=1.0, latencyMs=1)["faultRate"] == 1.0
    try:
        before = server.stats()["faults"]
        outcomes = _outcomes(url, server.training_key, 40)
        assert set(outcomes) == {"429", "500", "503", "drop"}
        assert server.stats()["faults"] - before == 40
        for _ in range(10):
            response = requests.get(url, headers={"Training-Key": server.training_key}, timeout=30)
            spec.check("GetProjects", response)  # errors are CustomVisionError bodies too
    except requests.ConnectionError:
        pass
    finally:
        server.set_faults(faultRate=0.0, latencyMs=0)
    assert _outcomes(url, server.training_key, 5) == ["200"] * 5


def test_faults_repeat_for_the_same_seed(server, emulator_factory) -> None:  # type: ignore[no-untyped-def]
    """The same seed replays the same faults, set at run time or on the command line."""
    runs = []
    for _ in range(2):
        server.set_faults(faultRate=0.5, faultSeed=7)
        runs.append(_outcomes(f"{server.endpoint}/customvision/v3.3/training/projects", server.training_key, 30))
    server.set_faults(faultRate=0.0)
    cli = emulator_factory("empty", tps=0, fault_rate=0.5, fault_seed=7)
    runs.append(_outcomes(f"{cli.endpoint}/customvision/v3.3/training/projects", cli.training_key, 30))
    cli.stop()
    assert runs[0] == runs[1] == runs[2] and set(runs[0]) > {"200"}


def test_deny_rule_fails_one_operation_of_one_project(server) -> None:  # type: ignore[no-untyped-def]
    projects = [p["id"] for p in server.state()["projects"]]
    base = f"{server.endpoint}/customvision/v3.3/training/projects"
    headers = {"Training-Key": server.training_key}
    rule = {"projectId": projects[0], "operation": "QueryPredictions", "status": 403}
    settings = server.set_faults(deny=[rule])
    assert settings["deny"] == [rule] and server.admin("faults")["deny"] == [rule]
    try:
        denied = requests.post(f"{base}/{projects[0]}/predictions/query", json={}, headers=headers)
        assert denied.status_code == 403 and denied.json()["code"] == "Forbidden"
        assert requests.post(f"{base}/{projects[1]}/predictions/query", json={}, headers=headers).status_code == 200
        assert requests.get(f"{base}/{projects[0]}/tags", headers=headers).status_code == 200
    finally:
        server.set_faults(deny=[])
    assert requests.post(f"{base}/{projects[0]}/predictions/query", json={}, headers=headers).status_code == 200


def test_bad_fault_settings_are_refused(server) -> None:  # type: ignore[no-untyped-def]
    url = f"{server.endpoint}/_emulator/faults"
    headers = {"Training-Key": server.training_key}
    for body in ({"faultRate": 2}, {"latencyMs": -1}, {"deny": [{"status": 403}]}, {"bogus": 1}, {"faultSeed": "x"}):
        assert requests.post(url, json=body, headers=headers).status_code == 400, body
