"""Azurite (Blob, Queue, Table) on free ports, its data on disk under the repo's ignored state dir or in memory."""

from __future__ import annotations

import shutil
from pathlib import Path

from localrun.ports import free_port
from localrun.process import REPO_ROOT, ServerProcess

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> Path:
    """The pinned azurite from `npm ci`; a clear error when it has not been installed."""
    path = REPO_ROOT / "node_modules" / ".bin" / "azurite"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `npm ci` in {REPO_ROOT}")
    return path


class Azurite(ServerProcess):
    """An Azurite process; `connection_string` points at its three services.

    `in_memory=True` keeps every blob in memory (`--inMemoryPersistence`): nothing survives a restart, and
    Azurite no longer re-serializes its whole blob index to disk every 5 s, which on disk costs CPU and
    stalls requests in proportion to the number of blobs it holds. Tests share one such Azurite; a test
    that restarts Azurite and expects the data back uses one on disk.
    """

    def __init__(
        self, data_dir: Path, *, log_path: Path | None = None, fresh: bool = True, in_memory: bool = False
    ) -> None:
        if fresh and data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.in_memory = in_memory
        self.blob_port, self.queue_port, self.table_port = free_port(), free_port(), free_port()
        super().__init__("azurite", port=self.blob_port, cwd=data_dir, log_path=log_path)
        self._own_ports = True

    def command(self) -> list[str]:
        storage = ["--inMemoryPersistence"] if self.in_memory else ["--location", str(self.data_dir)]
        return [
            str(azurite_binary()),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            *storage,
            "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
            "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
            "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
        ]  # fmt: skip

    def choose_ports(self) -> None:
        self.blob_port, self.queue_port, self.table_port = free_port(), free_port(), free_port()
        self.port = self.blob_port

    def wait_ready(self, deadline: float) -> None:
        for port in (self.blob_port, self.queue_port, self.table_port):
            self._wait_port(port, deadline)

    def restart(self, *, timeout: float = 60.0) -> Azurite:
        """Start again after `stop()`, on the same ports (clients keep their connection string)."""
        self._own_ports = False
        try:
            self.start(timeout=timeout)
        finally:
            self._own_ports = True
        return self

    def start(self, *, timeout: float = 60.0) -> Azurite:
        super().start(timeout=timeout)
        return self

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.blob_port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{ACCOUNT};"
        )
