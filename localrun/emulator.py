"""The Custom Vision Training API emulator (`python -m emulator`) as a child process on a free port."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localrun.process import ServerProcess, python_module

DEFAULT_TRAINING_KEY = "local-training-key"
READY_POLL = 0.05  # seconds between readiness probes


class Emulator(ServerProcess):
    """An emulator seeded with `seed`, keeping image bytes in the storage account of the connection string."""

    def __init__(
        self,
        *,
        storage_connection_string: str,
        seed: str = "demo",
        port: int | None = None,
        training_key: str = DEFAULT_TRAINING_KEY,
        tps: float = 10,
        extra_args: Sequence[str] = (),
        log_path: Path | None = None,
    ) -> None:
        super().__init__("emulator", port=port, log_path=log_path)
        self.seed = seed
        self.tps = tps
        self.extra_args = tuple(extra_args)
        self._storage = storage_connection_string
        self._training_key = training_key

    def command(self) -> list[str]:
        return python_module(
            "emulator",
            "--port", str(self.port),
            "--seed", self.seed,
            "--training-key", self._training_key,
            "--storage-connection-string", self._storage,
            "--tps", str(self.tps),
            *self.extra_args,
        )  # fmt: skip

    def start(self, *, timeout: float = 120.0) -> Emulator:
        """Start, then wait until `GET /_emulator/ready` says the seed is in place (the server listens at once
        and seeds in the background); StartError with the cause and the log's tail otherwise."""
        super().start(timeout=timeout)
        return self

    def wait_ready(self, deadline: float) -> None:
        while True:
            if not self.alive():
                raise self.failure("exited before it was ready")
            try:
                info = self.admin("ready", timeout=5)
            except urllib.error.HTTPError as exc:
                if exc.code != 503:  # 500: seeding failed (the server stops); anything else: not our emulator
                    raise self.failure(f"/_emulator/ready answered {exc.code}: {exc.read()[:500]!r}") from None
            except OSError:
                pass  # not listening yet
            else:
                if info.get("pid") != self.pid:
                    raise self.failure(f"port {self.port} is served by another process", taken=True)
                return
            if time.monotonic() >= deadline:
                raise self.failure("not ready in time (still starting or seeding)")
            time.sleep(READY_POLL)

    @property
    def endpoint(self) -> str:
        """Base URL as the SDKs expect it (they append `/customvision/v3.x/training`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def training_key(self) -> str:
        return self._training_key

    def admin(self, path: str, *, method: str = "GET", body: Any = None, timeout: float = 120) -> Any:
        """Call a test-only `/_emulator/...` endpoint and return its JSON."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.endpoint}/_emulator/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Training-Key": self._training_key, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")

    def state(self) -> dict[str, Any]:
        """Ground truth: `GET /_emulator/state`."""
        return self.admin("state")

    def stats(self) -> dict[str, Any]:
        return self.admin("stats")

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """`POST /_emulator/faults` with e.g. faultRate=0.1, latencyMs=5, deny=[...]."""
        return self.admin("faults", method="POST", body=settings)

    def reset(self, seed: str | None = None) -> dict[str, Any]:
        """Rebuild the dataset (the same seed unless given) and zero the counters."""
        query = f"?seed={urllib.request.quote(seed)}" if seed else ""
        return self.admin(f"reset{query}", method="POST", timeout=900)  # a large seed rewrites every image
