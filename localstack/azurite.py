"""Azurite (Blob, Queue, Table) on free ports, with its data under the repo's ignored state dir."""

from __future__ import annotations

import shutil
from pathlib import Path

from localstack.ports import free_port
from localstack.process import REPO_ROOT, ServerProcess

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
    """An Azurite process; `connection_string` points at its three services."""

    def __init__(self, data_dir: Path, *, log_path: Path | None = None, fresh: bool = True) -> None:
        if fresh and data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.blob_port, self.queue_port, self.table_port = free_port(), free_port(), free_port()
        argv = [
            str(azurite_binary()),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--location", str(data_dir),
            "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
            "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
            "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
        ]  # fmt: skip
        super().__init__("azurite", argv, self.blob_port, log_path=log_path)
        self.data_dir = data_dir

    def start(self, *, timeout: float = 60.0) -> Azurite:
        super().start(timeout=timeout)
        from localstack.ports import wait_for_port

        wait_for_port(self.queue_port, timeout=timeout)
        wait_for_port(self.table_port, timeout=timeout)
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
