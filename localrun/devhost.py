"""devhost (`python -m devhost`) on a free port, serving a Functions app folder."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import requests

from dsr.runtime_status import TERMINAL_STATUSES
from localrun.ports import free_port
from localrun.process import REPO_ROOT, ServerProcess, python_module

DEFAULT_KEY = "local-function-key"


class Devhost(ServerProcess):
    """A devhost process; `base_url`, `function_key`, and helpers for `/api/...` calls with the key."""

    def __init__(self, *, app_dir: Path, state_dir: Path, port: int | None = None,
                 function_key: str = DEFAULT_KEY, env: dict[str, str] | None = None,
                 log_path: Path | None = None, master_key: str | None = None) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.state_dir = Path(state_dir).resolve()
        self._function_key = function_key
        self.master_key = master_key or f"mk{secrets.token_urlsafe(24)}"  # admin API and Durable webhooks
        self.rpc_port = free_port()  # loopback endpoint behind the durable client's rpcBaseUrl
        super().__init__("devhost", port=port, cwd=REPO_ROOT, env=env, log_path=log_path)

    def command(self) -> list[str]:
        return python_module("devhost", "--app-dir", str(self.app_dir), "--port", str(self.port),
                             f"--function-key={self._function_key}", f"--master-key={self.master_key}",
                             "--state-dir", str(self.state_dir),
                             "--rpc-port", str(self.rpc_port))

    def choose_ports(self) -> None:
        super().choose_ports()
        self.rpc_port = free_port()

    def start(self, *, timeout: float = 60.0) -> Devhost:
        super().start(timeout=timeout)
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def function_key(self) -> str:
        return self._function_key

    def url(self, path: str) -> str:
        """Absolute URL of `/api/...` (or any devhost path)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call devhost with a key in the `x-functions-key` header: the function key for the app's routes,
        the master key for `admin/` and `runtime/` (they refuse function keys, as on Azure)."""
        operator = path.lstrip("/").startswith(("admin/", "runtime/"))
        key = self.master_key if operator else self._function_key
        headers = {"x-functions-key": key, **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def invoke(self, function_name: str, body: dict[str, Any]) -> requests.Response:
        """`POST /admin/functions/{name}`, as for a non-HTTP function on the real host."""
        return self.post(f"admin/functions/{function_name}", json=body)

    def wait_for_status(self, status_uri: str, *, timeout: float = 60.0,
                        until: tuple[str, ...] = TERMINAL_STATUSES) -> dict[str, Any]:
        """Poll a `statusQueryGetUri` (it carries the key) until runtimeStatus is one of `until`."""
        deadline = time.monotonic() + timeout
        payload: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = requests.get(status_uri, timeout=10)
            if response.content:
                payload = response.json()
                if payload.get("runtimeStatus") in until:
                    return payload
            time.sleep(0.1)
        raise TimeoutError(f"status still {payload.get('runtimeStatus')!r} after {timeout:.0f}s")
