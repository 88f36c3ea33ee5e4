"""Shared steps of the security e2e tests (bad input, fuzzing, auth, secrets): a stack with custom settings,
the problem+json checks, and snapshots of what a refused request must not change."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.emulator import Emulator
from localrun.process import REPO_ROOT
from localrun.stack import app_settings, sample_settings

# The repo's ignored state dir, not pytest's temp dirs: a concurrent pytest session may reap those
# while our servers still write their logs there (see tests/fixtures/stack.py).
STATE_ROOT = REPO_ROOT / ".state" / "test-stacks"
INSTANCES = "runtime/webhooks/durabletask/instances"
PROBLEM_JSON = "application/problem+json"


@dataclass
class SecurityStack:
    """An emulator and a devhost serving the app, with the settings a test chose; paths of their logs."""

    emulator: Emulator
    devhost: Devhost
    env: dict[str, str]
    state_dir: Path

    @property
    def function_key(self) -> str:
        return self.devhost.function_key


def settings_for(emulator: Emulator, azurite: Azurite, *, container: str) -> dict[str, str]:
    """Every setting of local.settings.sample.json pointed at our servers; `default` without a rate limit."""
    return app_settings(
        emulator_endpoint=emulator.endpoint,
        training_key=emulator.training_key,
        storage_connection_string=azurite.connection_string,
        container=container,
        receipt_signing_key=f"receipt-{secrets.token_hex(8)}",
        client_tps=1000,
        defaults=sample_settings(REPO_ROOT),
    )


@contextmanager
def security_stack(
    name: str,
    azurite: Azurite,
    *,
    seed: str = "demo",
    training_key: str = "local-training-key",
    tps: float = 1000,
    container: str | None = None,
    settings: Mapping[str, str] | None = None,
    keep: bool = False,
) -> Iterator[SecurityStack]:
    """Start an emulator (on `azurite`), then devhost with a random function key; stop both after.

    `settings` override the app settings (e.g. CUSTOMVISION_RESOURCES); `{emulator}` in a value is replaced
    by the emulator's endpoint. The state dir (logs) is removed afterwards unless `keep`.
    """
    state_dir = STATE_ROOT / f"security-{name}-{secrets.token_hex(4)}"
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    emulator = Emulator(storage_connection_string=azurite.connection_string, seed=seed, training_key=training_key,
                        tps=tps, log_path=logs / "emulator.log")
    function_key = f"fk{secrets.token_urlsafe(24)}"  # a leading "-" would read as an option to devhost's argparse
    devhost: Devhost | None = None
    try:
        emulator.start(timeout=120)  # first: its port is final once it runs (a taken one is re-picked)
        env = settings_for(emulator, azurite, container=container or f"sec-{name}")
        env.update({k: v.replace("{emulator}", emulator.endpoint) for k, v in (settings or {}).items()})
        devhost = Devhost(app_dir=REPO_ROOT, state_dir=state_dir / "devhost", function_key=function_key,
                          env=env, log_path=logs / "devhost.log").start(timeout=120)
        yield SecurityStack(emulator=emulator, devhost=devhost, env=env, state_dir=state_dir)
    finally:
        if devhost is not None:
            devhost.stop()
        emulator.stop()
        if not keep:
            shutil.rmtree(state_dir, ignore_errors=True)


def instance_ids(host: Devhost) -> set[str]:
    """Every orchestration instance the task hub holds (sub-orchestrations included), page after page."""
    found: set[str] = set()
    token = ""
    while True:
        response = host.get(INSTANCES, headers={"x-ms-continuation-token": token} if token else {})
        assert response.status_code == 200, response.text
        found |= {str(item["instanceId"]) for item in response.json()}
        token = response.headers.get("x-ms-continuation-token", "")
        if not token:
            return found


@dataclass(frozen=True)
class Snapshot:
    """What a refused request must leave as it was: the task hub's instances, the emulator's data, and the
    number of Training API calls the emulator has answered (nothing may even be read)."""

    instances: frozenset[str]
    emulator_state: str
    training_api_calls: int

    @classmethod
    def take(cls, stack: SecurityStack) -> Snapshot:
        state = json.dumps(stack.emulator.state(), sort_keys=True)
        calls = int(stack.emulator.stats()["calls"])  # the test-only /_emulator/ calls are not counted
        return cls(frozenset(instance_ids(stack.devhost)), state, calls)


def problem_of(response: requests.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    """The problem+json body of `response`, checked: the status, the media type, and `status` inside."""
    wanted = (status,) if isinstance(status, int) else status
    assert response.status_code in wanted, (response.status_code, response.text[:500])
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == PROBLEM_JSON, (media_type, response.text[:500])
    body = response.json()
    assert body["status"] == response.status_code, body
    assert isinstance(body.get("title"), str) and body["title"], body
    assert isinstance(body.get("type"), str), body
    if response.status_code in (400, 413):
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, body
        assert all(isinstance(e.get("field"), str) and isinstance(e.get("reason"), str) for e in errors), body
    return body


def fields_of(problem: Mapping[str, Any]) -> set[str]:
    """The JSON pointers a 400 problem names."""
    return {str(e["field"]) for e in problem.get("errors") or []}
