"""A Custom Vision endpoint that never answers fails the call within its time budget instead of hanging."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ServiceResponseError

from dsr.clients import training_client
from dsr.settings import Settings, SettingsError


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback server that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_call_to_a_silent_endpoint_fails_within_its_budget(silent_endpoint: str) -> None:
    settings = Settings.from_env({"CUSTOMVISION_ENDPOINT": silent_endpoint, "CUSTOMVISION_TRAINING_KEY": "k-timeout",
                                  "CUSTOMVISION_TIMEOUT_SECONDS": "2"})
    client = training_client(settings.resource("default"))
    started = time.monotonic()
    with pytest.raises(ServiceResponseError):
        list(client.list_projects())
    assert time.monotonic() - started < 30  # bounded (budget plus one attempt), not the transport's minutes


def test_timeout_setting_is_validated() -> None:
    with pytest.raises(SettingsError, match="CUSTOMVISION_TIMEOUT_SECONDS"):
        Settings.from_env({"CUSTOMVISION_ENDPOINT": "http://x", "CUSTOMVISION_TIMEOUT_SECONDS": "soon"})
    resources = '{"eu": {"endpoint": "http://eu", "timeoutSeconds": 12}}'
    assert Settings.from_env({"CUSTOMVISION_RESOURCES": resources}).resource("eu").timeout == 12
