"""Small pure pieces: routes, host config, keys, schedules, and the store's crash-safety."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devhost.config import ConfigError, apply_local_settings, load_host_config, resolve_setting
from devhost.http_triggers import compile_route
from devhost.invoker import Invoker
from devhost.keys import load_or_create
from devhost.replay_protocol import EventType, event
from devhost.store import InstanceExistsError, Store
from devhost.timers import TimerSchedule, TimerScheduleError


@pytest.mark.parametrize(("template", "path", "params"), [
    ("api/hello", "/api/hello", {}),
    ("api/hello", "/API/Hello", {}),
    ("api/items/{id}", "/api/items/42", {"id": "42"}),
    ("api/items/{id:int}", "/api/items/x", None),
    ("api/items/{id?}", "/api/items", {}),
    ("api/files/{*path}", "/api/files/a/b.txt", {"path": "a/b.txt"}),
    ("api/requests/{id}", "/api/requests/a/b", None),
])
def test_route_templates(template: str, path: str, params: dict[str, str] | None) -> None:
    pattern, _ = compile_route(template)
    found = pattern.fullmatch(path)
    assert (None if found is None else {k: v for k, v in found.groupdict().items() if v}) == params


def test_host_json_and_local_settings(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {
        "http": {"routePrefix": ""}, "durableTask": {"hubName": "Hub", "maxConcurrentActivityFunctions": 3}}}))
    config = load_host_config(tmp_path)
    assert (config.route_prefix, config.hub_name, config.max_activities) == ("", "Hub", 3)
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"A": "file", "B": "file"}}))
    env = {"A": "real"}
    assert apply_local_settings(tmp_path, env) == ["B"]
    assert env == {"A": "real", "B": "file"}  # the real environment wins
    (tmp_path / "host.json").write_text("{not json")
    with pytest.raises(ConfigError):
        load_host_config(tmp_path)


@pytest.mark.parametrize(("value", "seconds"), [
    (None, 1800.0),  # not set: Flex Consumption's default, 30 minutes
    ("00:30:00", 1800.0), ("02:00:00", 7200.0), ("1.00:00:00", 86400.0), ("00:00:00.5", 0.5), ("-1", None),
])
def test_function_timeout_is_read_as_the_host_reads_it(tmp_path: Path, value: str | None,
                                                        seconds: float | None) -> None:
    (tmp_path / "host.json").write_text(json.dumps({} if value is None else {"functionTimeout": value}))
    assert load_host_config(tmp_path).function_timeout == seconds


@pytest.mark.parametrize("value", ["30", "00:30", "00:00:00", "soon", 5])
def test_a_function_timeout_that_is_not_a_timespan_is_refused_by_name(tmp_path: Path, value: object) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"functionTimeout": value}))
    with pytest.raises(ConfigError, match=r"functionTimeout .* must be a positive timespan"):
        load_host_config(tmp_path)


def test_setting_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SCHEDULE", "0 */5 * * * *")
    assert resolve_setting("%MY_SCHEDULE%") == "0 */5 * * * *"
    assert resolve_setting("0 0 * * * *") == "0 0 * * * *"
    with pytest.raises(ConfigError):
        resolve_setting("%NOT_SET_ANYWHERE%")


def test_generated_keys_are_private_distinct_and_stable(tmp_path: Path) -> None:
    keys, generated = load_or_create(tmp_path)
    assert generated == ["function", "system", "master"]
    values = (keys.function, keys.system, keys.master)
    assert len(set(values)) == 3 and all(len(k) >= 32 for k in values)
    assert stat.S_IMODE(os.stat(tmp_path / "keys.json").st_mode) == 0o600
    assert load_or_create(tmp_path) == (keys, [])
    given, _ = load_or_create(tmp_path, function_key="given", master_key="given-master")
    assert (given.function, given.system, given.master) == ("given", keys.system, "given-master")
    with pytest.raises(ValueError, match="must differ"):
        load_or_create(tmp_path, function_key="same", master_key="same")


def test_ncrontab_and_timespan_schedules() -> None:
    moment = datetime(2026, 1, 1, 10, 2, 30, tzinfo=UTC)
    assert TimerSchedule("0 */5 * * * *").next_after(moment) == datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    assert TimerSchedule("*/10 * * * * *").next_after(moment) == datetime(2026, 1, 1, 10, 2, 40, tzinfo=UTC)
    assert TimerSchedule("00:00:05").next_after(moment) == datetime(2026, 1, 1, 10, 2, 35, tzinfo=UTC)
    for bad in ("every minute", "0 0 0 0 0 0 0", "00:00:00"):
        with pytest.raises(TimerScheduleError):
            TimerSchedule(bad)


def test_store_keeps_queued_work_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    store = Store(path)
    store.create("orch", "i1", None)
    with pytest.raises(InstanceExistsError):
        store.create("orch", "i1", None)
    episode = store.load_episode("i1")
    assert episode is not None
    store.db.execute("INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?,?,?,?,?)",
                     ("i1", episode.instance.execution_id, 0, "a", "1"))
    store.db.close()  # a crash: nothing committed beyond this point

    reopened = Store(path)
    assert [c.instance_id for c in reopened.claim_instances(10)] == ["i1"]  # ExecutionStarted is still queued
    [pending] = reopened.claim_activities(10)
    done = event(EventType.TASK_COMPLETED, datetime.now(UTC), TaskScheduledId=0, Result="2")
    assert reopened.complete_activity(pending.id, done)
    assert not reopened.complete_activity(pending.id, done)  # a second completion is dropped
    assert reopened.claim_activities(10) == []


def test_a_binding_may_be_named_like_the_invokers_own_arguments() -> None:
    invoker = Invoker(activities=1, orchestrators=1)
    try:
        def greet(name: str, reason: str) -> str:
            return f"{name}/{reason}"
        result = asyncio.run(invoker.call("greet", greet, reason="log text", bound={"name": "n", "reason": "r"}))
        assert result == "n/r"
    finally:
        invoker.close()


def test_lease_seconds_from_the_command_line_or_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from devhost.__main__ import parse_args

    monkeypatch.delenv("DEVHOST_LEASE_SECONDS", raising=False)
    assert parse_args([]).lease_seconds == 30.0  # Azure Storage's partition lease
    monkeypatch.setenv("DEVHOST_LEASE_SECONDS", "2.5")
    assert parse_args([]).lease_seconds == 2.5
    assert parse_args(["--lease-seconds", "7"]).lease_seconds == 7.0
    for bad in ("0", "-1", "soon"):
        with pytest.raises(SystemExit):
            parse_args(["--lease-seconds", bad])
        assert "--lease-seconds" in capsys.readouterr().err
