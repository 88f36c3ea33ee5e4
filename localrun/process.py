"""A child server process with a readiness wait, a start failure that shows its cause, and a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from localrun.ports import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL_LINES = 40
PORT_TAKEN = ("address already in use", "eaddrinuse")  # how python, aiohttp and node report a taken port


class StartError(RuntimeError):
    """A server did not become ready; the message has the reason and the tail of its log."""


class PortTaken(StartError):
    """The server could not listen on its port (someone else took it meanwhile)."""


class ServerProcess:
    """One server process started from `command()`, ready once `wait_ready` returns.

    Ports chosen here (`port=None`) are chosen again when a start finds one taken; a port given by the caller is
    kept (a restarted server must come back where its clients expect it).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str] = (),
        port: int | None = None,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._own_ports = port is None
        self.port = port or free_port()
        self.cwd = cwd or REPO_ROOT
        self.env = {**os.environ, **(env or {})}
        if log_path is None:
            handle, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
            os.close(handle)
            log_path = Path(path)
        self.log_path: Path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None
        self._log_start = 0  # where this start's output begins in the (appended) log

    # -- what subclasses change ------------------------------------------------------------------
    def command(self) -> list[str]:
        """The argv to run, built from the current port(s)."""
        return self._argv

    def choose_ports(self) -> None:
        """Pick fresh ports after one was found taken."""
        self.port = free_port()

    def wait_ready(self, deadline: float) -> None:
        """Block until the server serves (default: its port accepts connections); raise StartError if not."""
        self._wait_port(self.port, deadline)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, *, timeout: float = 60.0) -> ServerProcess:
        """Start the process and wait until it is ready; StartError with the log's tail if it is not."""
        attempts = 3 if self._own_ports else 1
        for attempt in range(attempts):
            self._spawn()
            try:
                self.wait_ready(time.monotonic() + timeout)
                return self
            except PortTaken:
                self.stop()
                if attempt == attempts - 1:
                    raise
                self.choose_ports()
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log_start = self._log.tell()
        self._proc = subprocess.Popen(
            self.command(),
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _wait_port(self, port: int, deadline: float) -> None:
        try:
            wait_for_port(port, timeout=max(0.0, deadline - time.monotonic()), alive=self.alive)
        except TimeoutError:
            raise self.failure(f"port {port} not listening") from None

    def failure(self, reason: str, *, taken: bool = False) -> StartError:
        """A StartError naming the reason, the exit code if the process ended, and the tail of this start's log
        (a PortTaken when `taken` or when the log says the port was in use)."""
        code = self._proc.poll() if self._proc is not None else None
        detail = f"{reason}; exited with {code}" if code is not None else reason
        tail = self.log_tail()
        taken = taken or any(marker in tail.lower() for marker in PORT_TAKEN)
        kind = PortTaken if taken else StartError
        return kind(f"{self.name} did not start ({detail}); last lines of {self.log_path}:\n{tail}")

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines this start wrote to the log."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()

    def stop(self, *, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; idempotent."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def python_module(module: str, *args: str) -> list[str]:
    """argv running `python -m module args` with this interpreter."""
    return [sys.executable, "-m", module, *args]
