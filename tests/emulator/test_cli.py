"""`python -m emulator`: bad arguments and unusable storage or ports end quickly with one clear line."""

from __future__ import annotations

import socket
import subprocess
import sys

from localrun.azurite import Azurite
from localrun.ports import free_port

UNREACHABLE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;"
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "emulator", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_unknown_seed_is_a_usage_error() -> None:
    result = _run("--port", str(free_port()), "--seed", "lots")
    assert result.returncode == 2 and "unknown seed 'lots'" in result.stderr


def test_unreachable_storage_fails_fast() -> None:
    result = _run("--port", str(free_port()), "--seed", "empty", "--storage-connection-string", UNREACHABLE)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("emulator: error: cannot use blob storage at http://127.0.0.1:9/")
    assert "Traceback" not in result.stderr and "AccountKey" not in result.stderr


def test_taken_port_fails_cleanly(azurite: Azurite) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("--port", str(port), "--seed", "empty", "--storage-connection-string", azurite.connection_string)
    assert result.returncode == 2 and "emulator: error:" in result.stderr and "Traceback" not in result.stderr
