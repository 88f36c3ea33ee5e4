"""Free loopback ports for servers started by the demo and by test fixtures."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from pathlib import Path

LOWEST = 20000  # below: well-known and registered services
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def _ephemeral_start() -> int:
    """Where the kernel's ephemeral range (the local ports of outgoing connections) starts."""
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; elsewhere bind(0) below is the fallback


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses now, below the kernel's ephemeral range, never the same twice.

    bind(0) hands out ports from the ephemeral range, from which every outgoing connection also takes its local
    port: between choosing such a port and the server binding it, a client socket (ours, or a parallel test
    run's) may take it, and the server dies with EADDRINUSE. Below that range only another listener can.
    """
    top = _ephemeral_start()
    if top - LOWEST >= 1000:
        for _ in range(200):
            port = random.randrange(LOWEST, top)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, *, timeout: float = 30.0, host: str = "127.0.0.1", alive: Callable[[], bool] | None = None
) -> None:
    """Block until something accepts connections on `port`; TimeoutError after `timeout`, or as soon as
    `alive()` says the server process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise TimeoutError(f"the server for {host}:{port} exited before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")
