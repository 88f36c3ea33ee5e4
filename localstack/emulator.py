"""The Custom Vision Training API emulator (`python -m emulator`) as a child process on a free port."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localstack.ports import free_port
from localstack.process import ServerProcess, python_module

DEFAULT_TRAINING_KEY = "local-training-key"


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
        port = port or free_port()
        argv = python_module(
            "emulator",
            "--port", str(port),
            "--seed", seed,
            "--training-key", training_key,
            "--storage-connection-string", storage_connection_string,
            "--tps", str(tps),
            *extra_args,
        )  # fmt: skip
        super().__init__("emulator", argv, port, log_path=log_path)
        self.seed = seed
        self._training_key = training_key

    def start(self, *, timeout: float = 120.0) -> Emulator:
        """Start, wait for the port, then make sure it is this process answering there (not a port thief)."""
        super().start(timeout=timeout)
        try:
            info = self.admin("info")
        except OSError as exc:
            self.stop()
            raise RuntimeError(f"emulator on port {self.port} did not answer ({exc}); see {self.log_path}") from None
        if info.get("pid") != self.pid:
            self.stop()
            raise RuntimeError(f"port {self.port} is served by another process; see {self.log_path}")
        return self

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
