"""Start and stop: the emulator listens at once, seeds in the background and says when it is ready; a failed
seed stops it with the cause; a stop mid-seed leaves no coroutine un-awaited and no session open."""

from __future__ import annotations

import asyncio
import gc
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer

from emulator import runtime
from emulator.app import create_app
from emulator.blobs import BlobStore
from emulator.config import Config
from localrun.azurite import ACCOUNT_KEY, Azurite
from localrun.emulator import Emulator
from localrun.ports import free_port
from localrun.process import StartError

KEY = {"Training-Key": Config().training_key}


def test_requests_before_the_seed_is_in_place_get_503_with_retry_after(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: seeding is held back until the test lets it finish."""
    release = threading.Event()
    build = runtime.seeds.build

    def held_build(seed_name: str) -> Any:
        assert release.wait(30)
        return build(seed_name)

    monkeypatch.setattr(runtime.seeds, "build", held_build)

    async def run() -> None:
        config = Config(seed="demo", storage_connection_string=azurite.connection_string, tps=0)
        async with TestClient(TestServer(create_app(config))) as client:
            ready = await client.get("/_emulator/ready", headers=KEY)
            assert ready.status == 503 and ready.headers["Retry-After"] == "1"
            assert (await ready.json())["ready"] is False
            for path in ("/customvision/v3.3/training/projects", "/_emulator/state", "/_emulator/stats"):
                early = await client.get(path, headers=KEY)
                assert early.status == 503 and early.headers["Retry-After"] == "1", path
                assert set(await early.json()) == {"code", "message"}
            assert (await client.get("/_emulator/ready")).status == 401  # the key is still checked
            assert (await client.get("/_emulator/info", headers=KEY)).status == 200  # who answers, at once

            release.set()
            body = await wait_ready(client)
            assert body["ready"] is True and body["projects"] == 2 and body["images"] > 0
            projects = await client.get("/customvision/v3.3/training/projects", headers=KEY)
            assert projects.status == 200 and len(await projects.json()) == 2

    asyncio.run(run())


async def wait_ready(client: TestClient) -> dict[str, Any]:
    for _ in range(600):
        response = await client.get("/_emulator/ready", headers=KEY)
        if response.status == 200:
            return dict(await response.json())
        assert response.status == 503
        await asyncio.sleep(0.05)
    raise TimeoutError("never ready")


def test_the_launcher_waits_for_readiness_not_for_the_port(azurite: Azurite, tmp_path: Path) -> None:
    server = Emulator(storage_connection_string=azurite.connection_string, seed="synthetic:projects=1,images=300",
                      tps=0, log_path=tmp_path / "emulator.log")
    with server:
        assert server.admin("ready")["images"] == 300  # answered right after start() returned
        assert len(server.state()["projects"][0]["images"]) == 300
    log = server.log_path.read_text()
    assert log.index("emulator listening on") < log.index("ready: seed synthetic:projects=1,images=300")


class RefusingStorage(BaseHTTPRequestHandler):
    """Blob storage that creates containers but answers every blob write with 500."""

    def do_PUT(self) -> None:  # http.server names handlers do_<METHOD>
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(201 if "restype=container" in self.path else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_storage() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), RefusingStorage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
           f"BlobEndpoint=http://127.0.0.1:{server.server_address[1]}/devstoreaccount1;")
    server.shutdown()
    server.server_close()


def test_a_seed_that_fails_stops_the_server_and_the_launcher_shows_why(
    refusing_storage: str, tmp_path: Path
) -> None:
    server = Emulator(storage_connection_string=refusing_storage, seed="demo", log_path=tmp_path / "emulator.log")
    started = time.monotonic()
    with pytest.raises(StartError) as failed:
        server.start(timeout=60)
    message = str(failed.value)
    assert time.monotonic() - started < 30  # the failure is reported, not waited out
    assert "emulator did not start" in message and "last lines of" in message
    assert "seeding 'demo' failed: blob upload failed with HTTP 500" in message  # the cause, from the log
    assert not server.alive()
    log = server.log_path.read_text()
    assert "emulator: error: seeding 'demo' failed" in log and "Traceback" not in log
    assert ACCOUNT_KEY not in message


def test_a_stop_while_seeding_leaves_nothing_unawaited_or_unclosed(azurite: Azurite, tmp_path: Path) -> None:
    log_path = tmp_path / "emulator.log"
    port = free_port()
    argv = [sys.executable, "-X", "dev", "-m", "emulator", "--port", str(port), "--tps", "0",
            "--seed", "synthetic:projects=4,images=1500", "--storage-connection-string", azurite.connection_string]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:  # listening, and still seeding
                assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()
                try:
                    ready = requests.get(f"http://127.0.0.1:{port}/_emulator/ready", headers=KEY, timeout=5)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
            assert ready.status_code == 503, "the seed should still be building"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
    text = log_path.read_text()
    assert "never awaited" not in text and "Unclosed" not in text and "Traceback" not in text, text[-3000:]


def test_bounded_work_that_fails_leaves_no_coroutine_unawaited(azurite: Azurite) -> None:
    started: list[int] = []

    async def step(number: int) -> None:
        started.append(number)
        await asyncio.sleep(0)
        if number == 3:
            raise RuntimeError("boom")
        await asyncio.sleep(0.01)

    async def run(lazily: bool) -> None:
        work = (step(n) for n in range(500)) if lazily else [step(n) for n in range(500)]
        with pytest.raises(RuntimeError, match="boom"):
            await BlobStore._bounded(work, limit=8)

    for lazily in (True, False):
        started.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            asyncio.run(run(lazily))
            gc.collect()
        assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
        assert len(started) < 500  # the first error stopped the rest
