"""HMAC-SHA256 receipts, as issued before ES256 signatures: still verifiable with the old key (RECEIPT_SIGNING_KEY).

Their signed bytes are `json.dumps(receipt minus "signature", sort_keys=True, separators=(",", ":"),
ensure_ascii=True, allow_nan=False)` in ASCII, and `signature` is `{"alg": "HMAC-SHA256", "keyId", "value"}`
(lowercase hex). Nothing signs this way any more: whoever holds the key could forge one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from dsr.canonical_json import sorted_json

ALG = "HMAC-SHA256"
MIN_KEY_LENGTH = 16
KEY_ENV = "RECEIPT_SIGNING_KEY"


class ReceiptKeyError(ValueError):
    """No usable key to sign or check a receipt with; the message says which."""


def signing_key(value: str | bytes | None) -> bytes:
    """The key bytes; ReceiptKeyError when missing or too short to be a secret."""
    key = value.encode("utf-8") if isinstance(value, str) else value
    if not key or not key.strip():
        raise ReceiptKeyError(f"no HMAC key to check this receipt with: set {KEY_ENV} or pass --key-file")
    if len(key) < MIN_KEY_LENGTH:
        raise ReceiptKeyError(f"{KEY_ENV} must be at least {MIN_KEY_LENGTH} bytes long")
    return key


def key_id(key: str | bytes) -> str:
    """The short fingerprint naming an HMAC key in `signature.keyId`."""
    digest = hmac.new(signing_key(key), b"dsr-receipt-key-id", hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest[:16]}"


def canonical_bytes(receipt: Mapping[str, Any]) -> bytes:
    """The bytes an HMAC receipt signed: without `signature`, compact sorted ASCII JSON."""
    body = {k: v for k, v in receipt.items() if k != "signature"}
    return sorted_json(body, ascii_only=True, allow_nan=False)


def check(receipt: Mapping[str, Any], key: str | bytes | None) -> tuple[bool, str]:
    """(valid, reason) of an HMAC-SHA256 receipt under `key`."""
    secret = signing_key(key)
    signature = receipt.get("signature")
    if not isinstance(signature, Mapping) or not isinstance(signature.get("value"), str):
        return False, "the receipt has no signature"
    if signature.get("keyId") != key_id(secret):
        return False, f"signed with key {signature.get('keyId')}, not with the given key {key_id(secret)}"
    expected = hmac.new(secret, canonical_bytes(receipt), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature["value"]).lower()):
        return False, "the signature does not match: the receipt was changed after signing"
    return True, f"signature valid (HMAC-SHA256, key {signature['keyId']})"
