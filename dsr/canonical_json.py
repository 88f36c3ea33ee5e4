"""Canonical JSON, in one place: the exact bytes that are signed or hashed, so equal documents give equal bytes.

- `canonical_json`: RFC 8785 (JCS), what receipts' and manifests' signatures sign (dsr/signing/).
- `sorted_json`: keys sorted, no whitespace: request fingerprints, HMAC receipts issued before ES256, subject
  selector digests, and JSON Lines records (whose bytes the manifest hashes). Frozen: stored fingerprints,
  digests and old receipts were computed with it.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of `value`: the exact bytes that are signed."""
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ValueError(f"cannot canonicalize the document: {exc}") from None


def sorted_json(value: Any, *, ascii_only: bool = False, allow_nan: bool = True) -> bytes:
    """`value` as compact JSON with sorted keys: UTF-8, or pure ASCII (`\\u` escapes) with `ascii_only`."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=ascii_only, allow_nan=allow_nan)
    return text.encode("ascii" if ascii_only else "utf-8")
