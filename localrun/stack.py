"""The whole local stack: Azurite, the Custom Vision emulator and devhost serving this repo's app.

One context manager for the demo and the end-to-end tests: every server on a free loopback port, all
state and logs under one folder (fresh each run), and the app settings (DESIGN.md §3) wired between them.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.emulator import DEFAULT_TRAINING_KEY, Emulator
from localrun.process import REPO_ROOT

DEFAULT_STATE_DIR = REPO_ROOT / ".state" / "demo"
DEFAULT_CONTAINER = "dsr-exports"
DEFAULT_RESOURCE = "default"
SAMPLE_SETTINGS = "local.settings.sample.json"


class LocalRun:
    """Azurite + emulator (seeded) + devhost serving `app_dir`; use as a context manager.

    The function key and the receipt signing key are fresh random values per stack, so nothing
    a run leaves behind (logs, state) works against a later one.
    """

    def __init__(
        self,
        state_dir: Path = DEFAULT_STATE_DIR,
        *,
        seed: str = "demo",
        tps: float = 10,
        client_tps: float | None = None,
        emulator_args: Sequence[str] = (),
        training_key: str = DEFAULT_TRAINING_KEY,
        container: str = DEFAULT_CONTAINER,
        app_dir: Path = REPO_ROOT,
        azurite: Azurite | None = None,
        fresh: bool = True,
    ) -> None:
        """`tps`: the emulator's rate limit; `client_tps`: the rate the app allows itself for `default`
        (None: the app's default, 10/s as on S0; tests raise it); `azurite`: share a running Azurite
        (not stopped by this stack) instead of starting one."""
        self.state_dir = Path(state_dir).resolve()
        self.seed = seed
        self.tps = tps
        self.client_tps = client_tps
        self.emulator_args = tuple(emulator_args)
        self.training_key = training_key
        self.container = container
        self.app_dir = Path(app_dir).resolve()
        self.function_key = secrets.token_hex(24)
        self.receipt_signing_key = secrets.token_hex(32)
        self._shared_azurite = azurite
        self._fresh = fresh
        self._azurite: Azurite | None = azurite
        self._emulator: Emulator | None = None
        self._devhost: Devhost | None = None

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def azurite(self) -> Azurite:
        assert self._azurite is not None, "stack not started"
        return self._azurite

    @property
    def emulator(self) -> Emulator:
        assert self._emulator is not None, "stack not started"
        return self._emulator

    @property
    def devhost(self) -> Devhost:
        assert self._devhost is not None, "stack not started"
        return self._devhost

    @property
    def base_url(self) -> str:
        """devhost's root URL; the API is under `/api/...`."""
        return self.devhost.base_url

    @property
    def env(self) -> dict[str, str]:
        """The app settings devhost runs with (they hold local secrets: never log this dict)."""
        return app_settings(
            emulator_endpoint=self.emulator.endpoint,
            training_key=self.emulator.training_key,
            storage_connection_string=self.azurite.connection_string,
            container=self.container,
            receipt_signing_key=self.receipt_signing_key,
            client_tps=self.client_tps,
            defaults=sample_settings(self.app_dir),
        )

    def start(self, *, timeout: float = 120.0) -> LocalRun:
        """Start Azurite, then the emulator (it uploads its seed's images to Azurite) and devhost."""
        if self._fresh and self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self._azurite is None:
                self._azurite = Azurite(self.state_dir / "azurite", log_path=self.log_dir / "azurite.log")
                self._azurite.start(timeout=timeout)
            self._emulator = Emulator(
                storage_connection_string=self._azurite.connection_string,
                seed=self.seed,
                training_key=self.training_key,
                tps=self.tps,
                extra_args=self.emulator_args,
                log_path=self.log_dir / "emulator.log",
            ).start(timeout=timeout)  # first: devhost's settings name its port, final once it runs
            self._devhost = Devhost(
                app_dir=self.app_dir,
                state_dir=self.state_dir / "devhost",
                function_key=self.function_key,
                env=self.env,
                log_path=self.log_dir / "devhost.log",
            ).start(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop what this stack started, in reverse order; idempotent."""
        for server in (self._devhost, self._emulator):
            if server is not None:
                server.stop()
        if self._azurite is not None and self._azurite is not self._shared_azurite:
            self._azurite.stop()

    def __enter__(self) -> LocalRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sample_settings(app_dir: Path) -> dict[str, str]:
    """`Values` of the app's local.settings.sample.json: every setting it reads, with local defaults."""
    path = app_dir / SAMPLE_SETTINGS
    if not path.exists():
        return {}
    values = json.loads(path.read_text(encoding="utf-8")).get("Values") or {}
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def app_settings(
    *,
    emulator_endpoint: str,
    training_key: str,
    storage_connection_string: str,
    container: str,
    receipt_signing_key: str,
    client_tps: float | None = None,
    defaults: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The app's settings pointed at the local servers, over `defaults` (the sample's local values).

    Every setting the sample lists is set, so a developer's local.settings.json (devhost reads it; the
    environment wins) cannot change what the demo and the tests run against. With `client_tps`,
    `default` is (re)defined in CUSTOMVISION_RESOURCES, the one place a resource's rate is set.
    """
    resources = {}
    if client_tps is not None:
        resources[DEFAULT_RESOURCE] = {
            "endpoint": emulator_endpoint,
            "trainingKeySetting": "CUSTOMVISION_TRAINING_KEY",
            "tps": client_tps,
        }
    return {
        **(defaults or {}),
        "CUSTOMVISION_ENDPOINT": emulator_endpoint,
        "CUSTOMVISION_TRAINING_KEY": training_key,
        "CUSTOMVISION_RESOURCES": json.dumps(resources),
        "CUSTOMVISION_ARM_ID": "",  # no ARM account: the account category is skipped, as documented
        "CUSTOMVISION_ALLOW_ACCOUNT_DELETE": "false",
        "EXPORT_STORAGE_CONNECTION_STRING": storage_connection_string,
        "EXPORT_STORAGE_ACCOUNT_URL": "",
        "EXPORT_CONTAINER": container,
        "RECEIPT_SIGNING_KEY": receipt_signing_key,
        "AzureWebJobsStorage": storage_connection_string,
    }
