"""Signatures anyone can check: JWS (ES256) over RFC 8785 canonical JSON, the keys that make them, the JWKS.

A signer holds one current key and knows its retired ones, so documents it signed before a rotation still
verify: `public_keys()` lists them all (the JWKS served by GET /api/keys). The `kid` of a key is its RFC 7638
JWK thumbprint, so anyone can recompute it from the public key alone.

- Key Vault (Azure, `SIGNING_KEY_VAULT_KEY_ID`): the private key never leaves the vault. The JWS signing input
  is hashed here (SHA-256) and the vault's `sign` (ES256) returns the raw r||s signature, which is exactly the
  JWS ES256 signature (RFC 7518 §3.4); joserfc's own JWS structures assemble the token around it.
- A local key directory (`SIGNING_KEY_DIR`; devhost points it into its state dir): a P-256 key created on
  first use, rotated by `python -m dsr.signing rotate`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from dsr.settings import KEY_DIR_SETTING, KEY_VAULT_SETTING, Settings

ALG = "ES256"
CURVE = "P-256"
DEFAULT_KEY_DIR = ".state/signing-keys"  # relative to the working directory, when neither setting is set
CACHE_SECONDS = 300.0  # how long a Key Vault signer trusts its view of the current key and the key list
MAX_PAYLOAD = 64 * 1024 * 1024  # verification accepts payloads up to this size (joserfc's default is 128 kB)
_CURRENT = "current"  # file naming the current kid in a local key directory
_PRIVATE = ".private.pem"
_PUBLIC = ".public.pem"
_WHERE = f"set {KEY_VAULT_SETTING} (Azure) or {KEY_DIR_SETTING} to a writable directory"


class SigningError(RuntimeError):
    """No usable signing key (not configured, not readable, refused by the vault); the message says which."""


def public_jwk(key: ECKey) -> dict[str, Any]:
    """The public JWK of `key` with its thumbprint `kid`, `alg` and `use`, as published in the JWKS."""
    public = ECKey.import_key(key.as_dict(private=False))
    return {**public.as_dict(private=False), "kid": public.thumbprint(), "alg": ALG, "use": "sig"}


class Signer(Protocol):
    """Makes compact JWS tokens with one current key; lists every public key it ever signed with."""

    def current_kid(self) -> str: ...

    def sign(self, payload: bytes) -> str:
        """A compact JWS (ES256, protected header `{"alg", "kid"}`) of `payload`, payload attached."""
        ...

    def public_keys(self) -> list[dict[str, Any]]:
        """Public JWKs, the current key first, then the retired ones."""
        ...


def sign_detached(signer: Signer, payload: bytes) -> str:
    """A compact JWS of `payload` with the payload left out (RFC 7515 Appendix F): `header..signature`."""
    return jws.detach_content(signer.sign(payload))


def jwks(signer: Signer) -> dict[str, Any]:
    """The JSON Web Key Set of `signer`: `{"keys": [...]}`."""
    return {"keys": signer.public_keys()}


# Local keys


class LocalKeySigner:
    """P-256 keys in a directory: `{kid}.private.pem` (0600), retired ones as `{kid}.public.pem`, `current`.

    The first signature creates the key. Several processes on one directory agree on one key: the `current`
    file is created exclusively, and a process that loses the race uses the winner's key.
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
        try:
            fd = os.open(self.directory / _CURRENT, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # another process made the first key meanwhile: use that one
            (self.directory / f"{kid}{_PRIVATE}").unlink(missing_ok=True)
            winner = self._read_current()
            if winner is None:
                raise SigningError(f"{self.directory / _CURRENT} is empty") from None
            return winner
        with os.fdopen(fd, "w") as handle:
            handle.write(kid)
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


# Key Vault


class VaultKeyClient(Protocol):
    """What we use of `azure.keyvault.keys.KeyClient`."""

    def get_key(self, name: str, version: str | None = None) -> Any: ...

    def list_properties_of_key_versions(self, name: str) -> Iterable[Any]: ...


class VaultCryptoClient(Protocol):
    """What we use of `azure.keyvault.keys.crypto.CryptographyClient`."""

    def sign(self, algorithm: Any, digest: bytes) -> Any: ...


@dataclass(frozen=True)
class VaultKeyId:
    """A Key Vault key identifier without version: `https://{vault}/keys/{name}`."""

    vault_url: str
    name: str

    @classmethod
    def parse(cls, value: str) -> VaultKeyId:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        segments = [s for s in parts.path.split("/") if s]
        if parts.scheme != "https" or not parts.netloc or len(segments) != 2 or segments[0] != "keys":
            raise SigningError(
                f"{KEY_VAULT_SETTING} must be a Key Vault key id without a version, "
                f"https://<vault>.vault.azure.net/keys/<name>; got {value!r}"
            )
        return cls(vault_url=f"https://{parts.netloc}", name=segments[1])


class _VaultES256(jws.JWSAlgModel):
    """ES256 whose private-key operation happens in Key Vault: SHA-256 here, `sign` (ES256) there."""

    name = ALG
    description = "ECDSA using P-256 and SHA-256, signed by Azure Key Vault"
    recommended = True
    key_type = "EC"

    def __init__(self, crypto: VaultCryptoClient) -> None:
        self._crypto = crypto

    def sign(self, msg: bytes, key: Any) -> bytes:
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        result = self._crypto.sign(SignatureAlgorithm.es256, hashlib.sha256(msg).digest())
        signature = bytes(result.signature)
        if len(signature) != 64:
            raise SigningError(f"Key Vault returned a {len(signature)}-byte ES256 signature (expected raw r||s, 64)")
        return signature

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool:  # never used: verification is local
        raise NotImplementedError


@dataclass
class _VaultView:
    kid: str
    public: ECKey
    crypto: VaultCryptoClient
    keys: list[dict[str, Any]]
    read_at: float


class VaultSigner:
    """Signs with the newest version of a Key Vault EC key; every readable version stays in the JWKS.

    The view (current version, public keys) is cached for `CACHE_SECONDS`, so a rotation in the vault is
    picked up within that time without a restart.
    """

    def __init__(
        self,
        key_id: VaultKeyId,
        key_client: VaultKeyClient,
        crypto_for: Callable[[Any], VaultCryptoClient],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key_id = key_id
        self._keys = key_client
        self._crypto_for = crypto_for
        self._clock = clock
        self._view: _VaultView | None = None
        self._lock = threading.Lock()

    def current_kid(self) -> str:
        return self._current().kid

    def sign(self, payload: bytes) -> str:
        view = self._current()
        registry = jws.JWSRegistry(algorithms=[ALG])
        registry.algorithms = {ALG: _VaultES256(view.crypto)}  # this registry only: the vault does the signing
        token = jws.serialize_compact({"alg": ALG, "kid": view.kid}, payload, view.public, registry=registry)
        # The vault signed with the key we think it did, over what we think it did: check before anyone relies on it.
        try:
            jws.deserialize_compact(token, view.public, algorithms=[ALG], registry=_verify_registry())
        except JoseError:
            raise SigningError(f"Key Vault's signature does not verify with key {view.kid}") from None
        return token

    def public_keys(self) -> list[dict[str, Any]]:
        return list(self._current().keys)

    def _current(self) -> _VaultView:
        with self._lock:
            now = self._clock()
            if self._view is None or now - self._view.read_at >= CACHE_SECONDS:
                self._view = self._read(now)
            return self._view

    def _read(self, now: float) -> _VaultView:
        try:
            newest = self._keys.get_key(self.key_id.name)
            public = _vault_public_key(newest)
            current = public_jwk(public)
            keys = {current["kid"]: current}
            for props in self._keys.list_properties_of_key_versions(self.key_id.name):
                if props.enabled is False or props.version == newest.properties.version:
                    continue  # a disabled version's public key cannot be read (nor can it sign)
                jwk = public_jwk(_vault_public_key(self._keys.get_key(self.key_id.name, props.version)))
                keys.setdefault(jwk["kid"], jwk)
        except SigningError:
            raise
        except Exception as exc:  # the SDK's errors (auth, throttling, not found) are all "cannot sign now"
            raise SigningError(
                f"cannot read signing key {self.key_id.name!r} in {self.key_id.vault_url}: {type(exc).__name__}"
            ) from exc
        return _VaultView(kid=current["kid"], public=public, crypto=self._crypto_for(newest),
                          keys=list(keys.values()), read_at=now)


def _b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _vault_public_key(key: Any) -> ECKey:
    """The public ECKey of a KeyVaultKey (kty EC or EC-HSM, P-256); SigningError for any other key."""
    jwk = key.key
    kty = str(getattr(jwk, "kty", "") or "")
    crv = str(getattr(jwk, "crv", "") or "")
    if not kty.startswith("EC") or crv != CURVE or not jwk.x or not jwk.y:
        raise SigningError(f"Key Vault key {key.id} is {kty or '?'} {crv or ''}: the signing key must be EC P-256")
    return ECKey.import_key({"kty": "EC", "crv": CURVE, "x": _b64url(bytes(jwk.x)), "y": _b64url(bytes(jwk.y))})


def vault_signer(key_id: str) -> VaultSigner:
    """A VaultSigner on the real SDK clients, with the app's identity (DefaultAzureCredential)."""
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient

    parsed = VaultKeyId.parse(key_id)
    credential = DefaultAzureCredential()
    return VaultSigner(parsed, KeyClient(parsed.vault_url, credential),
                       lambda key: CryptographyClient(key, credential))


# From settings


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


# Verification


def _verify_registry() -> jws.JWSRegistry:
    registry = jws.JWSRegistry(algorithms=[ALG])
    registry.max_payload_length = MAX_PAYLOAD
    return registry


def key_set(document: Mapping[str, Any]) -> KeySet:
    """A joserfc KeySet from a JWKS document; ValueError naming what is wrong."""
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError("not a JWKS: expected an object with a non-empty \"keys\" list")
    try:
        return KeySet.import_key_set({"keys": [dict(k) for k in keys]})
    except (JoseError, TypeError, ValueError) as exc:
        raise ValueError(f"the JWKS holds an unusable key: {exc}") from None


def header_of(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS; ValueError when it is not one."""
    try:
        return jws.extract_compact(token.encode("ascii")).protected
    except (JoseError, UnicodeEncodeError, ValueError) as exc:
        raise ValueError(f"not a compact JWS: {exc}") from None


def verify(token: str, keys: KeySet, *, payload: bytes | None = None) -> tuple[bool, str, bytes]:
    """(valid, reason, payload) of a compact JWS, detached (`payload` given) or attached.

    Only ES256 with a `kid` found in `keys` is accepted; the reason names the kid or what failed.
    """
    try:
        header = header_of(token)
    except ValueError as exc:
        return False, str(exc), b""
    kid = header.get("kid")
    if payload is not None and token.split(".")[1]:
        return False, "expected a detached JWS (header..signature): this one carries its own payload", b""
    if header.get("alg") != ALG:
        return False, f"unsupported signature algorithm {header.get('alg')!r} (expected {ALG})", b""
    if not isinstance(kid, str) or not any(k.kid == kid for k in keys.keys):
        return False, f"signed with key {kid!r}, which is not in the given key set", b""
    try:
        checked = jws.deserialize_compact(token, keys, algorithms=[ALG], registry=_verify_registry(), payload=payload)
    except JoseError as exc:
        if isinstance(exc, jws.BadSignatureError):
            return False, f"the signature does not match (key {kid}): the document was changed after signing", b""
        return False, f"the signature cannot be checked: {exc}", b""
    return True, f"signature valid (ES256, key {kid})", checked.payload


def load_jwks(source: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """A JWKS from a URL (http/https) or a file; ValueError/OSError saying what went wrong."""
    if source.startswith(("https://", "http://")):
        import requests

        response = requests.get(source, timeout=timeout, headers={"Accept": "application/jwk-set+json, */*"})
        if response.status_code != 200:
            raise OSError(f"GET {source} answered HTTP {response.status_code}")
        text = response.text
    else:
        text = Path(source).read_text("utf-8")
    try:
        document = json.loads(text)
    except ValueError:
        raise ValueError(f"{source} is not JSON") from None
    key_set(document)
    return dict(document)


# Command line (operators: show the JWKS, rotate a local key)


def main(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    """`jwks` prints the public key set; `rotate` makes a new local key (retired keys stay in the JWKS)."""
    parser = argparse.ArgumentParser(prog="python -m dsr.signing", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("jwks", "print the JWKS"), ("rotate", "new current local key; the old one is retired")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--key-dir", type=Path, help=f"local key directory (default: {KEY_DIR_SETTING})")
    args = parser.parse_args(argv)
    env = dict(os.environ if env is None else env)
    if args.key_dir:
        env[KEY_DIR_SETTING], env[KEY_VAULT_SETTING] = str(args.key_dir), ""
    try:
        signer = signer_for(Settings.from_env(env))
        if args.command == "rotate":
            if not isinstance(signer, LocalKeySigner):
                print("error: rotate a Key Vault key in the vault (az keyvault key rotate)", file=sys.stderr)
                return 2
            print(f"new signing key {signer.rotate()} in {signer.directory}")
            return 0
        print(json.dumps(jwks(signer), indent=2))
        return 0
    except SigningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
