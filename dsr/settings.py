"""Settings the app reads (DESIGN.md §3), resolved from the environment into plain frozen dataclasses."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_RESOURCE = "default"
DEFAULT_CONTAINER = "dsr-exports"
DEFAULT_SAS_HOURS = 24.0
DEFAULT_TIMEOUT = 300.0
DEFAULT_TPS = 10.0  # Training API calls/s of a resource (S0; F0 allows 2)
RATE_BUDGET_SCOPES = ("shared", "process")  # one budget per resource for every process, or each process alone
_ALLOW_DELETE = "CUSTOMVISION_ALLOW_ACCOUNT_DELETE"
KEY_VAULT_SETTING = "SIGNING_KEY_VAULT_KEY_ID"  # Azure: Key Vault key (EC P-256) that signs receipts and manifests
KEY_DIR_SETTING = "SIGNING_KEY_DIR"  # locally: directory of the signing key, created on first use


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the setting."""


@dataclass(frozen=True)
class ResourceConfig:
    """One configured Custom Vision resource. The key is held here but never serialized or logged."""

    alias: str
    endpoint: str
    training_key: str | None = field(default=None, repr=False)  # None: use Entra ID
    arm_id: str | None = None  # ARM resource id, enables the account category
    allow_account_delete: bool = False  # ARM delete + purge only when explicitly enabled
    tps: float = DEFAULT_TPS  # Training API calls per second allowed for this resource, by all instances together
    timeout: float = DEFAULT_TIMEOUT  # seconds one Training API call may take, retries included


@dataclass(frozen=True)
class Settings:
    """All settings the app reads; `from_env` is the only constructor the app uses."""

    resources: Mapping[str, ResourceConfig]
    export_connection_string: str | None = field(default=None, repr=False)
    export_account_url: str | None = None
    export_container: str = DEFAULT_CONTAINER
    # HMAC key of receipts issued before ES256 signing: verifies them (python -m dsr.receipt); never signs.
    receipt_signing_key: str | None = field(default=None, repr=False)
    sas_validity_hours: float = DEFAULT_SAS_HOURS
    signing_key_vault_key_id: str | None = None
    signing_key_dir: str | None = None
    receipt_account_url: str | None = None  # receipts' own (write-once) account; None: the export account
    receipt_container: str | None = None  # None: the export container
    rate_budget_scope: str = "shared"  # RATE_BUDGET_SCOPE: see dsr/ratebudget.py

    @property
    def receipts_container(self) -> str:
        """The container receipts are written to (`receipts/{requestId}.json` in it)."""
        return self.receipt_container or self.export_container

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `env` (default: os.environ)."""
        env = os.environ if env is None else env
        return cls(
            resources=_resources(env),
            export_connection_string=env.get("EXPORT_STORAGE_CONNECTION_STRING") or None,
            export_account_url=env.get("EXPORT_STORAGE_ACCOUNT_URL") or None,
            export_container=env.get("EXPORT_CONTAINER") or DEFAULT_CONTAINER,
            receipt_signing_key=env.get("RECEIPT_SIGNING_KEY") or None,
            sas_validity_hours=_float(env, "EXPORT_SAS_VALIDITY_HOURS", DEFAULT_SAS_HOURS),
            signing_key_vault_key_id=env.get(KEY_VAULT_SETTING) or None,
            signing_key_dir=env.get(KEY_DIR_SETTING) or None,
            receipt_account_url=env.get("RECEIPT_STORAGE_ACCOUNT_URL") or None,
            receipt_container=env.get("RECEIPT_CONTAINER") or None,
            rate_budget_scope=_choice(env, "RATE_BUDGET_SCOPE", RATE_BUDGET_SCOPES),
        )

    def resource(self, alias: str) -> ResourceConfig:
        """The resource named `alias`, or SettingsError naming the known aliases."""
        try:
            return self.resources[alias]
        except KeyError:
            known = ", ".join(sorted(self.resources)) or "none"
            raise SettingsError(f"unknown resource {alias!r} (configured: {known})") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first when unset)."""
    raw = env.get(name) or choices[0]
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _tps(raw: object, name: str) -> float:
    """A positive number of calls per second."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise SettingsError(f"{name} must be a positive number, got {raw!r}")
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a positive number, got {raw!r}") from None
    if not value > 0 or math.isinf(value):
        raise SettingsError(f"{name} must be a positive number, got {raw!r}")
    return value


def _resources(env: Mapping[str, str]) -> dict[str, ResourceConfig]:
    resources: dict[str, ResourceConfig] = {}
    timeout = _float(env, "CUSTOMVISION_TIMEOUT_SECONDS", DEFAULT_TIMEOUT)
    endpoint = env.get("CUSTOMVISION_ENDPOINT")
    if endpoint:
        resources[DEFAULT_RESOURCE] = ResourceConfig(
            alias=DEFAULT_RESOURCE,
            endpoint=endpoint.rstrip("/"),
            training_key=env.get("CUSTOMVISION_TRAINING_KEY") or None,
            arm_id=env.get("CUSTOMVISION_ARM_ID") or None,
            allow_account_delete=_bool(env.get(_ALLOW_DELETE), _ALLOW_DELETE),
            tps=_tps(env.get("CUSTOMVISION_TPS") or DEFAULT_TPS, "CUSTOMVISION_TPS"),
            timeout=timeout,
        )
    raw = env.get("CUSTOMVISION_RESOURCES") or "{}"
    try:
        extra = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"CUSTOMVISION_RESOURCES is not valid JSON: {exc.msg}") from None
    if not isinstance(extra, dict):
        raise SettingsError("CUSTOMVISION_RESOURCES must be a JSON object of alias -> resource")
    for alias, spec in extra.items():
        resources[alias] = _resource(alias, spec, env, timeout)
    return resources


def _resource(alias: str, spec: object, env: Mapping[str, str], timeout: float) -> ResourceConfig:
    where = f"CUSTOMVISION_RESOURCES.{alias}"
    if not isinstance(spec, dict) or not isinstance(spec.get("endpoint"), str):
        raise SettingsError(f"{where} must be an object with a string 'endpoint'")
    key = None
    key_setting = spec.get("trainingKeySetting")
    if key_setting is not None:
        if not isinstance(key_setting, str) or not env.get(key_setting):
            raise SettingsError(f"{where}.trainingKeySetting names a setting that is not set")
        key = env[key_setting]
    return ResourceConfig(
        alias=alias,
        endpoint=spec["endpoint"].rstrip("/"),
        training_key=key,
        arm_id=spec.get("armId") or None,
        allow_account_delete=_bool(spec.get("allowAccountDelete"), f"{where}.allowAccountDelete"),
        tps=_tps(spec.get("tps", DEFAULT_TPS), f"{where}.tps"),
        timeout=float(spec.get("timeoutSeconds", timeout)),
    )


def _bool(raw: object, name: str) -> bool:
    if raw is None or raw == "":
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise SettingsError(f"{name} must be true or false, got {raw!r}")
