"""A local signing key directory (`SIGNING_KEY_DIR`; devhost points it into its state dir): a P-256 key created on
first use, rotated by `python -m dsr.signing rotate`; retired keys keep their public half, so they stay in the JWKS."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey

from dsr.settings import KEY_DIR_SETTING, KEY_VAULT_SETTING
from dsr.signing.tokens import ALG, CURVE, SigningError, public_jwk

_CURRENT = "current"  # file naming the current kid in a local key directory
_PRIVATE = ".private.pem"
_PUBLIC = ".public.pem"
_WHERE = f"set {KEY_VAULT_SETTING} (Azure) or {KEY_DIR_SETTING} to a writable directory"


class LocalKeySigner:
    """P-256 keys in a directory: `{kid}.private.pem` (0600), retired ones as `{kid}.public.pem`, `current`.

    The first signature creates the key. Several processes on one directory agree on one key: the `current`
    file appears whole by a hard link that fails if it exists, and a process that loses the race uses the winner's key.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def current_kid(self) -> str:
        return self._current()[0]

    def sign(self, payload: bytes) -> str:
        kid, key = self._current()
        return jws.serialize_compact({"alg": ALG, "kid": kid}, payload, key, algorithms=[ALG])

    def public_keys(self) -> list[dict[str, Any]]:
        current = self.current_kid()
        keys = {current: public_jwk(self._private(current))}
        for path in sorted(self.directory.glob(f"*{_PUBLIC}")) + sorted(self.directory.glob(f"*{_PRIVATE}")):
            kid = path.name.split(".", 1)[0]
            if kid not in keys:
                keys[kid] = public_jwk(ECKey.import_key(path.read_bytes()))
        return list(keys.values())

    def rotate(self) -> str:
        """A new current key; the old one keeps only its public half. Returns the new kid."""
        with self._lock:
            old = self._read_current()
            kid = self._new_key()
            _write_atomic(self.directory / _CURRENT, kid.encode("ascii"), mode=0o644)
            if old and old != kid:
                retired = self._private(old)
                _write_atomic(self.directory / f"{old}{_PUBLIC}", retired.as_pem(private=False), mode=0o644)
                (self.directory / f"{old}{_PRIVATE}").unlink(missing_ok=True)
            return kid

    def _current(self) -> tuple[str, ECKey]:
        with self._lock:
            kid = self._read_current() or self._create_first()
            return kid, self._private(kid)

    def _read_current(self) -> str | None:
        try:
            kid = (self.directory / _CURRENT).read_text("ascii").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            where = self.directory
            raise SigningError(f"cannot read the local signing key in {where} ({exc.strerror}): {_WHERE}") from None
        return kid or None

    def _create_first(self) -> str:
        kid = self._new_key()
        staged = self.directory / f".{_CURRENT}.{kid}"
        _write_atomic(staged, kid.encode("ascii"), mode=0o644)
        try:  # a hard link appears whole or not at all: no process ever reads a `current` still being written
            os.link(staged, self.directory / _CURRENT)
        except FileExistsError:  # another process made the first key meanwhile: use that one
            (self.directory / f"{kid}{_PRIVATE}").unlink(missing_ok=True)
            winner = self._read_current()
            if winner is None:
                raise SigningError(f"{self.directory / _CURRENT} is empty") from None
            return winner
        except OSError as exc:  # e.g. a file system without hard links
            (self.directory / f"{kid}{_PRIVATE}").unlink(missing_ok=True)
            raise SigningError(f"cannot create {self.directory / _CURRENT} ({exc.strerror}): {_WHERE}") from None
        finally:
            staged.unlink(missing_ok=True)
        return kid

    def _new_key(self) -> str:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            key = ECKey.generate_key(CURVE, private=True)
            kid = key.thumbprint()
            _write_atomic(self.directory / f"{kid}{_PRIVATE}", key.as_pem(private=True), mode=0o600)
        except OSError as exc:
            raise SigningError(f"cannot create a signing key in {self.directory} ({exc.strerror}): {_WHERE}") from None
        return kid

    def _private(self, kid: str) -> ECKey:
        path = self.directory / f"{kid}{_PRIVATE}"
        try:
            key = ECKey.import_key(path.read_bytes())
        except FileNotFoundError:
            raise SigningError(f"the current signing key {kid} has no private key file {path}") from None
        if key.thumbprint() != kid:
            raise SigningError(f"{path} does not hold the key {kid}")
        return key


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
