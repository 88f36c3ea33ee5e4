"""Signing what the app issues (receipts, manifests) so that anyone can check it: JWS ES256 over RFC 8785 JSON
(tokens.py), with a local key directory (local.py) or a Key Vault key (vault.py), chosen by keys.py, which also
answers GET /api/keys; `python -m dsr.signing` (command.py) shows and rotates keys. This package's names are its
public interface.
"""

from dsr.signing.keys import JWKS_CONTENT_TYPE, published_keys, signer_for
from dsr.signing.local import LocalKeySigner
from dsr.signing.tokens import (
    ALG,
    CURVE,
    Signer,
    SigningError,
    header_of,
    jwks,
    key_set,
    load_jwks,
    public_jwk,
    sign_detached,
    verify,
)
from dsr.signing.vault import VaultKeyId, VaultSigner, vault_signer

__all__ = [
    "ALG",
    "CURVE",
    "JWKS_CONTENT_TYPE",
    "LocalKeySigner",
    "Signer",
    "SigningError",
    "VaultKeyId",
    "VaultSigner",
    "header_of",
    "jwks",
    "key_set",
    "load_jwks",
    "public_jwk",
    "published_keys",
    "sign_detached",
    "signer_for",
    "vault_signer",
    "verify",
]
