"""Which signer the app uses (Key Vault when configured, else a local key directory), and GET /api/keys."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from dsr.settings import Settings
from dsr.signing.local import LocalKeySigner
from dsr.signing.tokens import Signer, SigningError, jwks
from dsr.signing.vault import vault_signer

DEFAULT_KEY_DIR = ".state/signing-keys"  # relative to the working directory, when neither setting is set


_signers: dict[tuple[str, str], Signer] = {}
_signers_lock = threading.Lock()


def signer_for(settings: Settings) -> Signer:
    """The process's signer: Key Vault when `SIGNING_KEY_VAULT_KEY_ID` is set, else the local key directory."""
    vault = settings.signing_key_vault_key_id or ""
    directory = settings.signing_key_dir or ""
    with _signers_lock:
        signer = _signers.get((vault, directory))
        if signer is None:
            signer = vault_signer(vault) if vault else LocalKeySigner(Path(directory or DEFAULT_KEY_DIR).resolve())
            _signers[(vault, directory)] = signer
        return signer


# GET /api/keys


JWKS_CONTENT_TYPE = "application/jwk-set+json"
JWKS_MAX_AGE = 300  # seconds verifiers and proxies may cache the key set (a new key signs after a rotation)


def published_keys(settings: Settings) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) of GET /api/keys: the JWKS, or a 503 problem when the keys cannot be read."""
    from dsr.problems import CONTENT_TYPE, problem

    try:
        body = jwks(signer_for(settings))
    except SigningError as exc:
        detail = f"the public signing keys cannot be read right now: {exc}"
        return 503, dict(problem(503, None, detail)), {"Content-Type": CONTENT_TYPE, "Retry-After": "30"}
    return 200, body, {"Content-Type": JWKS_CONTENT_TYPE, "Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}
