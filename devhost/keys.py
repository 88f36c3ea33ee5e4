"""Host keys as on Azure: a function key, the durabletask system key and the master key.

The Functions host grants an authorization level by the key a caller presents (the `x-functions-key`
header wins over the `code` query parameter, even when empty): the master key is Admin, the system key
is System, a function key is Function (AuthenticationLevelHandler.cs / SecretManager.GetAuthorizationLevelAsync
in Azure/azure-functions-host). A route needs its level: a function-level HTTP trigger accepts a function key
or the master key, never the system key (AuthUtility.PrincipalHasAuthLevelClaim); the Durable webhooks
(`/runtime/webhooks/durabletask`) accept the system key or the master key; `/admin` only the master key.

Keys given on the command line win; a key not given is generated once and kept in `<state-dir>/keys.json`, which
every devhost on the state dir shares (on Azure every instance reads the same keys from `azure-webjobs-secrets`):
it is read and, when needed, written under an exclusive file lock, so processes starting together agree.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from aiohttp import web

KEY_FILE = "keys.json"
LOCK_FILE = ".keys.lock"
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
SYSTEM_KEY_NAME = "durabletask_extension"  # the name the Durable extension's system key has on Azure
_STORED = {"function": "functionKey", "system": "systemKey", "master": "masterKey"}


class Level(IntEnum):
    """The host's AuthorizationLevel values (User is never granted by a key)."""

    ANONYMOUS = 0
    FUNCTION = 2
    SYSTEM = 3
    ADMIN = 4


@dataclass(frozen=True)
class HostKeys:
    """The three keys a devhost accepts."""

    function: str
    system: str
    master: str

    def level_of(self, presented: str | None) -> Level:
        """The level a presented key grants (constant-time comparisons, master first as on Azure)."""
        if not presented:
            return Level.ANONYMOUS
        for level, key in ((Level.ADMIN, self.master), (Level.SYSTEM, self.system), (Level.FUNCTION, self.function)):
            if hmac.compare_digest(presented.encode(), key.encode()):
                return level
        return Level.ANONYMOUS


def load_or_create(state_dir: Path, *, function_key: str | None = None,
                   master_key: str | None = None) -> tuple[HostKeys, list[str]]:
    """(keys, names of the keys generated now): given keys win, then stored ones, else new ones saved 0600."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / KEY_FILE
    with _locked(state_dir / LOCK_FILE):
        stored: dict[str, str] = {}
        if path.exists():
            stored = {k: str(v) for k, v in json.loads(path.read_text()).items() if v}
        given = {"function": function_key, "master": master_key}
        values: dict[str, str] = {}
        generated: list[str] = []
        for name, field in _STORED.items():
            value = given.get(name) or stored.get(field)
            if not value:
                value = secrets.token_urlsafe(32)
                stored[field] = value
                generated.append(name)
            values[name] = value
        if generated:
            _write_private(path, json.dumps(stored))
    keys = HostKeys(**values)
    if len({keys.function, keys.system, keys.master}) != 3:
        raise ValueError("the function, system and master keys must differ")
    return keys, generated


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive lock across processes (released by the OS if the holder dies)."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_private(path: Path, text: str) -> None:
    """Replace `path` whole (readers never see half a file), readable by the owner only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    temporary.replace(path)


def presented_key(request: web.Request) -> str | None:
    """The key a caller sent: the `x-functions-key` header when present (even empty), else `code`."""
    if KEY_HEADER in request.headers:
        return request.headers[KEY_HEADER]
    return request.query.get(KEY_QUERY)


def level(request: web.Request, keys: HostKeys) -> Level:
    return keys.level_of(presented_key(request))


def allows(granted: Level, required: Level) -> bool:
    """Whether a caller at `granted` may use a route needing `required` (Admin passes everything)."""
    return required is Level.ANONYMOUS or granted is Level.ADMIN or granted is required
