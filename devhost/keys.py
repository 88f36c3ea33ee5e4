"""The function key: given on the command line, or generated once and kept in the state dir."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path

from aiohttp import web

KEY_FILE = "keys.json"
KEY_HEADER = "x-functions-key"


def load_or_create(state_dir: Path, explicit: str | None) -> tuple[str, bool]:
    """(key, generated): the explicit key, else the stored one, else a new one saved 0600."""
    if explicit:
        return explicit, False
    path = state_dir / KEY_FILE
    if path.exists():
        stored = json.loads(path.read_text()).get("functionKey")
        if stored:
            return str(stored), False
    key = secrets.token_urlsafe(32)
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"functionKey": key}, handle)
    return key, True


def presented_key(request: web.Request) -> str | None:
    """The key a caller sent, as `code` query parameter or `x-functions-key` header."""
    return request.query.get("code") or request.headers.get(KEY_HEADER)


def is_authorized(request: web.Request, key: str) -> bool:
    """Constant-time comparison of the presented key with the host's key."""
    given = presented_key(request)
    return given is not None and hmac.compare_digest(given.encode(), key.encode())
