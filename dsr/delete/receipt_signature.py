"""A receipt's signature: what is signed, signing it, and checking it.

    signed bytes = RFC 8785 (JCS) canonical JSON of the receipt without its "signature" member
    signature    = {"alg": "ES256", "keyId": <kid>, "canonicalization": "RFC8785",
                    "jws": <compact JWS of the signed bytes, payload detached: "header..signature">}

The JWS protected header is `{"alg": "ES256", "kid": <kid>}`; the kid is the RFC 7638 thumbprint of the key.
The stored file is indented for people; verification re-canonicalizes, so whitespace does not matter.
Receipts issued before ES256 carry an HMAC-SHA256 signature and verify with the old key (receipt_hmac.py).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from joserfc.jwk import KeySet

from dsr import signing
from dsr.canonical_json import canonical_json
from dsr.delete import receipt_hmac
from dsr.delete.receipt_hmac import ReceiptKeyError

ALG = signing.ALG
CANONICALIZATION = "RFC8785"


class Signature(TypedDict):
    """`ES256`: `jws` (detached) + `canonicalization`; `HMAC-SHA256` (issued before ES256): `value`."""

    alg: str
    keyId: str
    jws: NotRequired[str]
    canonicalization: NotRequired[str]
    value: NotRequired[str]


def signed_bytes(receipt: Mapping[str, Any]) -> bytes:
    """Exactly the bytes that are signed: the receipt without `signature`, RFC 8785 canonical JSON."""
    return canonical_json({k: v for k, v in receipt.items() if k != "signature"})


def sign(receipt: Mapping[str, Any], signer: signing.Signer) -> dict[str, Any]:
    """A copy of `receipt` with its ES256 signature (JWS, payload detached) by `signer`'s current key."""
    signed: Any = copy.deepcopy(dict(receipt))
    signed.pop("signature", None)
    token = signing.sign_detached(signer, signed_bytes(signed))
    kid = str(signing.header_of(token)["kid"])
    signed["signature"] = Signature(alg=ALG, keyId=kid, canonicalization=CANONICALIZATION, jws=token)
    return signed


def check(
    receipt: Mapping[str, Any], *, keys: KeySet | None = None, hmac_key: str | bytes | None = None
) -> tuple[bool, str]:
    """(valid, reason): an ES256 receipt against the public `keys`, an HMAC one against `hmac_key`.

    ReceiptKeyError when the receipt needs what was not given (a key set, or the HMAC key).
    """
    signature = receipt.get("signature")
    if not isinstance(signature, Mapping):
        return False, "the receipt has no signature"
    alg = signature.get("alg")
    if alg == receipt_hmac.ALG:
        return receipt_hmac.check(receipt, hmac_key)
    if alg != ALG:
        return False, f"unsupported signature algorithm {alg!r}"
    if keys is None:
        raise ReceiptKeyError("an ES256 receipt is checked with the issuer's public keys: pass --jwks URL|FILE")
    token = signature.get("jws")
    if not isinstance(token, str):
        return False, "the signature has no JWS"
    try:
        header = signing.header_of(token)
    except ValueError as exc:
        return False, str(exc)
    if header.get("kid") != signature.get("keyId"):
        return False, f"keyId {signature.get('keyId')!r} is not the signed kid {header.get('kid')!r}"
    try:
        payload = signed_bytes(receipt)
    except ValueError as exc:
        return False, str(exc)
    valid, reason, _ = signing.verify(token, keys, payload=payload)
    return valid, reason


def verify(receipt: Mapping[str, Any], keys: KeySet) -> bool:
    """True when `receipt` carries a valid ES256 signature by one of `keys` and is unchanged since."""
    return check(receipt, keys=keys)[0]
