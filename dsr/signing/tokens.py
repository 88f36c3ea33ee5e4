"""Signatures anyone can check: JWS (ES256) over RFC 8785 canonical JSON (dsr/canonical_json.py), the JWKS that
publishes the keys, and verification. Who holds the private key: local.py (a key directory) or vault.py (Key
Vault); which one the app uses: keys.py.

A signer holds one current key and knows its retired ones, so documents it signed before a rotation still verify:
`public_keys()` lists them all (the JWKS served by GET /api/keys). The `kid` of a key is its RFC 7638 JWK
thumbprint, so anyone can recompute it from the public key alone.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

ALG = "ES256"
CURVE = "P-256"
MAX_PAYLOAD = 64 * 1024 * 1024  # verification accepts payloads up to this size (joserfc's default is 128 kB)


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


def b64url(data: bytes) -> str:
    """base64url without padding, as JOSE writes binary values."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def verify_registry() -> jws.JWSRegistry:
    """ES256 only, with payloads up to MAX_PAYLOAD."""
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
        checked = jws.deserialize_compact(token, keys, algorithms=[ALG], registry=verify_registry(), payload=payload)
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
