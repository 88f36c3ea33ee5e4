"""The bench's local stack: Azurite, the emulator and N devhost processes, with the delay proxy between them and
every client (ours, the SDK script, the floor), so a round trip of `rtt_ms` is paid on every storage and Training
API request.

Layout: clients -> netem "storage" -> Azurite (blob); clients -> netem "training" -> emulator. The emulator is
given the proxied storage address, so the image URIs it hands out (SAS URLs into Azurite) go through the proxy as
well; its own uploads at seeding run with the delay at 0. Queue and Table endpoints stay direct (nothing measured
uses them). `--workers N` starts N devhost processes on one --state-dir, as scaled-out instances of one task hub:
they claim orchestrations and activities with leases in the shared SQLite hub (devhost/README.md, "Scale-out").
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from localrun.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from localrun.devhost import Devhost
from localrun.emulator import DEFAULT_TRAINING_KEY, Emulator
from localrun.ports import free_port
from localrun.process import REPO_ROOT, ServerProcess, python_module
from localrun.stack import app_settings, sample_settings


class Netem(ServerProcess):
    """`python -m bench.netem` in its own process: a `storage` and a `training` forward and their control port."""

    def __init__(self, *, azurite_port: int, emulator_port: int, log_path: Path) -> None:
        self.storage_port, self.training_port = free_port(), free_port()
        control = free_port()
        argv = python_module("bench.netem", "--control-port", str(control),
                             "--forward", f"storage:{self.storage_port}:{azurite_port}",
                             "--forward", f"training:{self.training_port}:{emulator_port}")
        super().__init__("netem", argv, control, cwd=REPO_ROOT, log_path=log_path)
        self.rtt_ms = 0.0

    def _call(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/{path}", data=data,
                                         method="POST" if data else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def set_rtt(self, ms: float) -> None:
        """Every byte sent from now on pays `ms` of round trip (half each way)."""
        self._call("rtt", {"ms": ms})
        self.rtt_ms = ms

    def requests(self, name: str, since: float = 0.0) -> list[tuple[float, str, str]]:
        """(epoch time released to the server, method, path) of each request through forward `name`."""
        return [tuple(entry) for entry in self._call(f"requests?name={name}&since={since}")["requests"]]


class BenchStack:
    """Azurite + netem + emulator (seeded) + `workers` devhost processes on one state dir."""

    def __init__(self, state_dir: Path, *, seed: str, tps: float, latency_ms: int, container: str,
                 workers: int = 1, azurite: Azurite | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.log_dir = self.state_dir / "logs"
        self.seed, self.tps, self.latency_ms, self.container, self.workers = seed, tps, latency_ms, container, workers
        self.function_key = secrets.token_hex(24)
        self.extra_env = extra_env or {}
        self._shared_azurite = azurite
        self.azurite: Azurite | None = azurite
        self.netem: Netem | None = None
        self.emulator: Emulator | None = None
        self.devhosts: list[Devhost] = []

    # What the bench's clients use: everything through the proxy.

    @property
    def devhost(self) -> Devhost:
        """The first worker (requests are submitted to the workers in turn, status polled from each in turn)."""
        return self.devhosts[0]

    @property
    def training_endpoint(self) -> str:
        assert self.netem is not None
        return f"http://127.0.0.1:{self.netem.training_port}"

    @property
    def connection_string(self) -> str:
        """Azurite's blob service through the proxy (Shared Key and SAS signatures do not cover the host)."""
        assert self.netem is not None and self.azurite is not None
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint=http://127.0.0.1:{self.netem.storage_port}/{ACCOUNT};")

    @property
    def training_key(self) -> str:
        return DEFAULT_TRAINING_KEY

    def set_rtt(self, ms: float) -> None:
        assert self.netem is not None
        self.netem.set_rtt(ms)

    def training_requests(self, since: float, until: float | None = None) -> list[float]:
        """Times the emulator was sent a Training API call (not its test-only /_emulator routes)."""
        assert self.netem is not None
        until = until if until is not None else time.time() + 1
        return [t for t, _, path in self.netem.requests("training", since)
                if "/customvision/" in path and t <= until]

    def storage_requests(self, since: float, until: float | None = None) -> dict[str, int]:
        """Blob requests sent between `since` and `until`: all, and those of the shared rate budget's record."""
        from dsr.ratebudget_record import CONTAINER

        assert self.netem is not None
        until = until if until is not None else time.time() + 1
        paths = [path for t, _, path in self.netem.requests("storage", since) if t <= until]
        return {"total": len(paths), "rateBudget": sum(1 for path in paths if f"/{CONTAINER}/" in path)}

    def start(self, *, timeout: float) -> BenchStack:
        import shutil

        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.log_dir.mkdir(parents=True)
        try:
            if self.azurite is None:
                self.azurite = Azurite(self.state_dir / "azurite", log_path=self.log_dir / "azurite.log")
                self.azurite.start(timeout=timeout)
            emulator_port = free_port()
            self.netem = Netem(azurite_port=self.azurite.blob_port, emulator_port=emulator_port,
                               log_path=self.log_dir / "netem.log")
            self.netem.start(timeout=timeout)
            self.netem.set_rtt(0)
            self._start_devhosts(timeout)
            self.emulator = Emulator(storage_connection_string=self.connection_string, seed=self.seed,
                                     port=emulator_port, tps=self.tps,
                                     extra_args=["--latency-ms", str(self.latency_ms)],
                                     log_path=self.log_dir / "emulator.log")
            self.emulator.start(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_devhosts(self, timeout: float) -> None:
        """`workers` devhost processes on one state dir, started at once (as instances of a scale-out are), with the
        same function and master keys."""
        env = {**app_settings(
            emulator_endpoint=self.training_endpoint,
            training_key=self.training_key,
            storage_connection_string=self.connection_string,
            container=self.container,
            receipt_signing_key=secrets.token_hex(32),
            client_tps=self.tps,
            defaults=sample_settings(REPO_ROOT),
        ), **self.extra_env}
        master_key = f"mk{secrets.token_urlsafe(24)}"
        self.devhosts = [Devhost(app_dir=REPO_ROOT, state_dir=self.state_dir / "devhost",
                                 function_key=self.function_key, master_key=master_key, env=env,
                                 log_path=self.log_dir / (f"devhost-{index}.log" if index else "devhost.log"))
                         for index in range(self.workers)]

        def start(devhost: Devhost) -> None:
            try:
                devhost.start(timeout=timeout)
            except RuntimeError as exc:
                assert devhost.log_path is not None
                said = devhost.log_path.read_text(errors="replace") if devhost.log_path.exists() else ""
                raise RuntimeError(f"{exc}\n{said[-2000:]}") from None

        with ThreadPoolExecutor(self.workers) as pool:
            for started in [pool.submit(start, devhost) for devhost in self.devhosts]:
                started.result()

    @property
    def devhost_pids(self) -> list[int]:
        return [d.pid for d in self.devhosts]

    def stop(self) -> None:
        for server in [*reversed(self.devhosts), self.emulator, self.netem]:
            if server is not None:
                server.stop()
        if self.azurite is not None and self.azurite is not self._shared_azurite:
            self.azurite.stop()

    def __enter__(self) -> BenchStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
