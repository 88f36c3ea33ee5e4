"""The bench's delay proxy (`python -m bench.netem`) in front of a real HTTP server: bytes pass unchanged, every
request head is logged, and a round trip is added. Only lower bounds of time are asserted (the proxy cannot be
faster than the delay it adds; it can be slower on a busy machine)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from bench.stack import Netem


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the SDKs' pooled sessions

    def _answer(self) -> None:
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while (size := int(self.rfile.readline().strip(), 16)):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.command.encode() + b" " + self.path.encode() + b" " + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Netem]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    netem = Netem(azurite_port=port, emulator_port=port, log_path=tmp_path_factory.mktemp("netem") / "netem.log")
    netem.start(timeout=60)
    yield netem
    netem.stop()
    server.shutdown()


def test_bytes_pass_unchanged_and_every_request_is_logged(proxy: Netem) -> None:
    proxy.set_rtt(0)
    since = time.time()
    base = f"http://127.0.0.1:{proxy.training_port}"
    with requests.Session() as session:  # one kept-alive connection for all three
        assert session.get(f"{base}/customvision/v3.3/training/projects").content == \
            b"GET /customvision/v3.3/training/projects "
        blob = bytes(range(256)) * 4096  # 1 MiB, several reads of the proxy
        assert session.put(f"{base}/c/b", data=blob).content == b"PUT /c/b " + blob
        chunks = (part for part in (b"GET / HTTP/1.1\r\n", b"x" * 70_000))  # a body that looks like a request
        assert session.post(f"{base}/q", data=chunks).content == b"POST /q GET / HTTP/1.1\r\n" + b"x" * 70_000
    logged = [(method, path) for _, method, path in proxy.requests("training", since)]
    assert logged == [("GET", "/customvision/v3.3/training/projects"), ("PUT", "/c/b"), ("POST", "/q")]
    assert proxy.requests("storage", since) == []


def test_a_round_trip_is_added_to_each_request_and_one_more_to_a_new_connection(proxy: Netem) -> None:
    proxy.set_rtt(150)
    base = f"http://127.0.0.1:{proxy.storage_port}"
    try:
        with requests.Session() as session:
            started = time.perf_counter()
            session.get(f"{base}/first")
            first = time.perf_counter() - started
            started = time.perf_counter()
            session.get(f"{base}/second")  # same connection
            second = time.perf_counter() - started
    finally:
        proxy.set_rtt(0)
    assert first >= 0.3 - 0.01  # handshake + request/response
    assert second >= 0.15 - 0.01
