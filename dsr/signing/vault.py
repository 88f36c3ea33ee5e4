"""Key Vault signing (Azure, `SIGNING_KEY_VAULT_KEY_ID`): the private key never leaves the vault.

The JWS signing input is hashed here (SHA-256) and the vault's `sign` (ES256) returns the raw r||s signature, which
is exactly the JWS ES256 signature (RFC 7518 §3.4); joserfc's own JWS structures assemble the token around it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from dsr.settings import KEY_VAULT_SETTING
from dsr.signing.tokens import ALG, CURVE, SigningError, b64url, public_jwk, verify_registry

CACHE_SECONDS = 300.0  # how long a Key Vault signer trusts its view of the current key and the key list


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
            jws.deserialize_compact(token, view.public, algorithms=[ALG], registry=verify_registry())
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


def _vault_public_key(key: Any) -> ECKey:
    """The public ECKey of a KeyVaultKey (kty EC or EC-HSM, P-256); SigningError for any other key."""
    jwk = key.key
    kty = str(getattr(jwk, "kty", "") or "")
    crv = str(getattr(jwk, "crv", "") or "")
    if not kty.startswith("EC") or crv != CURVE or not jwk.x or not jwk.y:
        raise SigningError(f"Key Vault key {key.id} is {kty or '?'} {crv or ''}: the signing key must be EC P-256")
    return ECKey.import_key({"kty": "EC", "crv": CURVE, "x": b64url(bytes(jwk.x)), "y": b64url(bytes(jwk.y))})


def vault_signer(key_id: str) -> VaultSigner:
    """A VaultSigner on the real SDK clients, with the app's identity (DefaultAzureCredential)."""
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient

    parsed = VaultKeyId.parse(key_id)
    credential = DefaultAzureCredential()
    return VaultSigner(parsed, KeyClient(parsed.vault_url, credential),
                       lambda key: CryptographyClient(key, credential))
