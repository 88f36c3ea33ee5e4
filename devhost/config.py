"""host.json, local.settings.json and the environment: what the host reads before importing the app."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_HUB = "TestHubName"


class ConfigError(Exception):
    """host.json or local.settings.json cannot be used."""


FLEX_FUNCTION_TIMEOUT = 1800.0  # seconds: Flex Consumption's default functionTimeout ("Function app timeout duration")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class HostConfig:
    """The parts of host.json devhost honours."""

    route_prefix: str = DEFAULT_ROUTE_PREFIX
    hub_name: str = DEFAULT_HUB
    max_activities: int = 10
    max_orchestrators: int = 10
    function_timeout: float | None = FLEX_FUNCTION_TIMEOUT  # seconds an execution may run (None: unbounded)
    raw: dict[str, Any] = field(default_factory=dict)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, {} when the file does not exist."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data


def load_host_config(app_dir: Path) -> HostConfig:
    """Route prefix, task hub name and concurrency limits from host.json (defaults as in Azure)."""
    raw = read_json(app_dir / "host.json")
    extensions = raw.get("extensions") or {}
    http = extensions.get("http") or {}
    durable = extensions.get("durableTask") or {}
    cores = os.cpu_count() or 1
    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX)
    return HostConfig(
        route_prefix=str(prefix).strip("/"),
        hub_name=str(durable.get("hubName") or DEFAULT_HUB),
        max_activities=int(durable.get("maxConcurrentActivityFunctions") or 10 * cores),
        max_orchestrators=int(durable.get("maxConcurrentOrchestratorFunctions") or 10 * cores),
        function_timeout=function_timeout(raw["functionTimeout"]) if "functionTimeout" in raw
        else FLEX_FUNCTION_TIMEOUT,
        raw=raw,
    )


def function_timeout(value: Any) -> float | None:
    """host.json's `functionTimeout` in seconds: a timespan `[d.]hh:mm:ss[.fff]`, or "-1" for none."""
    text = str(value).strip()
    if text == "-1":
        return None
    match = _TIMESPAN.match(text)
    total = 0.0
    if match:
        days, hours, minutes, seconds = match.groups()
        total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if total <= 0:
        raise ConfigError(f"host.json functionTimeout {value!r} must be a positive timespan like \"00:30:00\" (or -1)")
    return total


def apply_local_settings(app_dir: Path, environ: dict[str, str] | None = None) -> list[str]:
    """Copy local.settings.json `Values` into the environment; the real environment wins."""
    env = os.environ if environ is None else environ
    values = read_json(app_dir / "local.settings.json").get("Values") or {}
    applied = []
    for key, value in values.items():
        if key not in env:
            env[key] = "" if value is None else str(value)
            applied.append(key)
    return applied


def resolve_setting(value: str) -> str:
    """Expand a binding's `%SETTING%` reference from the environment, as the host does."""
    if len(value) > 2 and value.startswith("%") and value.endswith("%"):
        name = value[1:-1]
        if name not in os.environ:
            raise ConfigError(f"app setting {name!r} referenced by a binding is not set")
        return os.environ[name]
    return value
