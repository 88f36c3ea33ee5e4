"""The network in the bench: a TCP delay proxy in front of Azurite and the emulator, in a process of its own.

`python -m bench.netem --control-port C --forward NAME:LISTEN:UPSTREAM [...] [--rtt-ms R]`

Every byte from client to server is held R/2 ms, every byte back R/2 ms, so a request-response exchange costs R
more; the first bytes of a new connection wait one R more (the TCP handshake). Bandwidth is not limited. Order
within a connection is kept (the delay is constant). The same proxy carries ours, the SDK script and the floor.

It also reads the HTTP/1.1 request heads going through (Content-Length and chunked bodies are skipped, not
parsed) and records, per forward, when each request was released to the server, with its method and path: the
Training API calls per second the emulator saw come from there (the emulator itself keeps totals only).

Control (HTTP on --control-port): `POST /rtt {"ms": R}` changes the delay for new bytes; `GET /requests?name=N&
since=T` returns `[[t, method, path], ...]` released at or after T (epoch seconds); `GET /health`.
It runs in its own process so that its work does not share the GIL with what the bench measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web

CHUNK = 256 * 1024
MAX_HEAD = 1024 * 1024  # a request head larger than this: stop scanning that connection


class RequestScanner:
    """Finds HTTP/1.1 request heads in a client-to-server byte stream; returns (method, target) per request."""

    def __init__(self) -> None:
        self._buf = b""
        self._state = "head"  # head | body | chunk-size | chunk-data | trailer | lost
        self._left = 0

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if self._buf:  # a head or chunk-size line cut by the previous read
            data, self._buf = self._buf + data, b""
        pos, size = 0, len(data)
        while pos < size and self._state != "lost":
            if self._state in ("body", "chunk-data"):
                take = min(self._left, size - pos)
                self._left -= take
                pos += take
                if not self._left:
                    self._state = "head" if self._state == "body" else "chunk-size"
                continue
            marker = b"\r\n\r\n" if self._state == "head" else b"\r\n"
            end = data.find(marker, pos)
            if end < 0:
                self._buf = data[pos:]
                if len(self._buf) > MAX_HEAD:
                    self._state, self._buf = "lost", b""
                break
            line, pos = data[pos:end], end + len(marker)
            if self._state == "head":
                found.append(self._head(line))
            elif self._state == "chunk-size":
                length = int(line.split(b";")[0].strip() or b"0", 16)
                self._state, self._left = ("chunk-data", length + 2) if length else ("trailer", 0)  # data + CRLF
            elif not line:  # the empty line that ends the trailer
                self._state = "head"
        return found

    def _head(self, head: bytes) -> tuple[str, str]:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        method, target = (parts[0].decode("latin-1"), parts[1].decode("latin-1")) if len(parts) >= 2 else ("?", "?")
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip() or b"0")
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            self._state = "chunk-size"
        elif length:
            self._state, self._left = "body", length
        else:
            self._state = "head"
        return method, target


@dataclass
class Forward:
    """One listening port relaying to one upstream port, with the delay and the request log."""

    name: str
    listen: int
    upstream: int
    rtt: list[float]  # shared, seconds (a list so every forward sees a change)
    log: list[tuple[float, str, str]] = field(default_factory=list)
    server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.listen, backlog=1024)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream, limit=CHUNK)
        except OSError:
            writer.close()
            return
        handshake = self.rtt[0]  # the first bytes of a connection wait one round trip more
        await asyncio.gather(self._pump(reader, up_writer, RequestScanner(), handshake),
                             self._pump(up_reader, writer, None, 0.0), return_exceptions=True)
        for end in (up_writer, writer):
            end.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    scanner: RequestScanner | None, extra: float) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=64)

        async def read() -> None:
            first = True
            try:
                while data := await reader.read(CHUNK):
                    delay = self.rtt[0] / 2 + (extra if first else 0.0)
                    first = False
                    await queue.put((loop.time() + delay, data))
            except (ConnectionError, OSError):
                pass
            await queue.put((loop.time() + self.rtt[0] / 2, b""))

        reading = asyncio.ensure_future(read())
        try:
            while True:
                release, data = await queue.get()
                wait = release - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                if scanner is not None:
                    now = time.time()
                    self.log.extend((now, method, target) for method, target in scanner.feed(data))
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            reading.cancel()
            try:
                if writer.can_write_eof():
                    writer.write_eof()
            except (OSError, RuntimeError):
                pass
            if scanner is None:  # the server side finished: close the client connection
                writer.close()


def parse_forward(text: str) -> tuple[str, int, int]:
    name, listen, upstream = text.split(":")
    return name, int(listen), int(upstream)


async def serve(control_port: int, forwards: list[tuple[str, int, int]], rtt_ms: float) -> None:
    rtt = [rtt_ms / 1000]
    proxies = {name: Forward(name, listen, upstream, rtt) for name, listen, upstream in forwards}
    for proxy in proxies.values():
        await proxy.start()

    async def set_rtt(request: web.Request) -> web.Response:
        body = await request.json()
        rtt[0] = max(0.0, float(body["ms"])) / 1000
        return web.json_response({"ms": rtt[0] * 1000})

    async def requests(request: web.Request) -> web.Response:
        proxy = proxies[request.query["name"]]
        since = float(request.query.get("since", "0"))
        return web.json_response({"requests": [entry for entry in proxy.log if entry[0] >= since]})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"rttMs": rtt[0] * 1000, "forwards": {n: p.listen for n, p in proxies.items()}})

    app = web.Application()
    app.router.add_post("/rtt", set_rtt)
    app.router.add_get("/requests", requests)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", control_port).start()
    await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.netem", description=__doc__)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--forward", action="append", type=parse_forward, required=True,
                        help="NAME:LISTEN_PORT:UPSTREAM_PORT (repeatable)")
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.control_port, args.forward, args.rtt_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
