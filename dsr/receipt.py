"""Signed delete receipts: `receipts/{requestId}.json` in the export container (DESIGN.md §5).

A receipt holds request metadata (request id, resource alias, categories, project ids), per-category
before/after counts, timestamps and the verification result; never names, image ids, keys or service
messages (which can quote ids). It is signed with HMAC-SHA256 under `RECEIPT_SIGNING_KEY`.

Signed bytes (the whole contract a verifier in any language needs):

    json.dumps(receipt minus its "signature" member, sort_keys=True, separators=(",", ":"),
               ensure_ascii=True, allow_nan=False).encode("ascii")

i.e. compact JSON, keys sorted, non-ASCII escaped as \\uXXXX. A receipt holds only strings, integers,
booleans, null, lists and objects, so the form is unambiguous. `signature` is
`{"alg": "HMAC-SHA256", "keyId": <fingerprint of the key>, "value": <lowercase hex of the MAC>}`; the
key is the UTF-8 bytes of the setting. The stored file is indented for people; verification parses it
and rebuilds the signed bytes, so whitespace in the file does not matter.

Command: `python -m dsr.receipt verify FILE [--key-file PATH]` (key from RECEIPT_SIGNING_KEY otherwise);
exit 0 valid, 1 invalid, 2 when it cannot check (no key, unreadable file).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from azure.storage.blob import ContainerClient, ContentSettings

from dsr.categories import Operation
from dsr.delete.plan import ProjectPlan, category_counts
from dsr.delete.results import category_outcome, receipt_entry
from dsr.delete.verify import Verification

SCHEMA_VERSION = 1
KIND = "customvision-dsr-delete-receipt"
ALG = "HMAC-SHA256"
MIN_KEY_LENGTH = 16
KEY_ENV = "RECEIPT_SIGNING_KEY"


class ReceiptKeyError(ValueError):
    """No usable signing key: a receipt is never written unsigned."""


class Signature(TypedDict):
    alg: str
    keyId: str
    value: str


class CategoryEntry(TypedDict):
    """One category across the request's projects; `before`/`after` are None where nothing is countable."""

    status: str
    before: int | None
    after: int | None
    errorCode: str | None
    reason: NotRequired[str]  # our own explanation of a skipped category (never a service message)


class ProjectEntry(TypedDict):
    projectId: str
    before: dict[str, int | None]
    after: dict[str, int | None]
    clean: bool


class Receipt(TypedDict):
    """The receipt document; `signature` is added by `sign`."""

    schemaVersion: int
    kind: str
    requestId: str
    resource: str
    operation: str
    categories: list[str]
    olderThan: str | None  # predictions cutoff, when the request limited them by age
    startedAt: str
    completedAt: str
    results: dict[str, CategoryEntry]
    projects: list[ProjectEntry]
    missingProjects: list[str]
    verification: dict[str, Any]  # {"clean", "checkedAt", "remaining": {category: n}, "notes": [str]}
    signature: NotRequired[Signature]


def build_receipt(
    *,
    request_id: str,
    resource: str,
    categories: Sequence[str],
    started_at: str,
    completed_at: str,
    plans: Sequence[ProjectPlan],
    verifications: Sequence[Verification],
    results: Mapping[str, Mapping[str, Any]] | None = None,
    missing_projects: Sequence[str] = (),
    older_than: str | None = None,
    verified_at: str | None = None,
) -> Receipt:
    """The unsigned receipt from the plans (before), verifications (after) and per-category results.

    `results` maps a category to its merged envelope (`{"status", "error": {"code", "message"}}`); a
    category without one is complete when verification found it empty. A category with anything left
    is failed with `VerificationFoundRemaining`, whatever its steps reported.
    """
    categories = [str(c) for c in categories]
    after_by_project = {v["projectId"]: v for v in verifications}
    projects: list[ProjectEntry] = []
    for plan in plans:
        check = after_by_project.get(plan["projectId"])
        after = dict(check["remaining"]) if check else dict.fromkeys(category_counts(plan, categories))
        projects.append(ProjectEntry(projectId=plan["projectId"], before=category_counts(plan, categories),
                                     after=after, clean=bool(check and check["clean"])))
    entries = {c: _entry(c, projects, (results or {}).get(c)) for c in categories}
    remaining = {c: e["after"] for c, e in entries.items() if e["after"] is not None}
    notes = [f"{v['projectId']}: {note}" for v in verifications for note in v["notes"]]
    return Receipt(
        schemaVersion=SCHEMA_VERSION,
        kind=KIND,
        requestId=request_id,
        resource=resource,
        operation=str(Operation.DELETE),
        categories=categories,
        olderThan=older_than,
        startedAt=started_at,
        completedAt=completed_at,
        results=entries,
        projects=projects,
        missingProjects=list(missing_projects),
        verification={
            "clean": all(p["clean"] for p in projects) and not any(remaining.values()),
            "checkedAt": verified_at or completed_at,
            "remaining": remaining,
            "notes": notes,
        },
    )


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _entry(category: str, projects: list[ProjectEntry], result: Mapping[str, Any] | None) -> CategoryEntry:
    """The category's outcome (decided by dsr.delete.results) over the projects' counts."""
    before = _sum([p["before"].get(category) for p in projects])
    after = _sum([p["after"].get(category) for p in projects])
    return CategoryEntry(**receipt_entry(category_outcome(before=before, after=after, result=result)))


# Signing


def signing_key(value: str | bytes | None) -> bytes:
    """The key bytes; ReceiptKeyError when missing or too short to be a secret."""
    key = value.encode("utf-8") if isinstance(value, str) else value
    if not key or not key.strip():
        raise ReceiptKeyError(f"no receipt signing key: set {KEY_ENV}; receipts are never written unsigned")
    if len(key) < MIN_KEY_LENGTH:
        raise ReceiptKeyError(f"{KEY_ENV} must be at least {MIN_KEY_LENGTH} bytes long")
    return key


def key_id(key: str | bytes) -> str:
    """A short fingerprint naming the key (derived by HMAC, so it reveals nothing usable about it)."""
    digest = hmac.new(signing_key(key), b"dsr-receipt-key-id", hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest[:16]}"


def canonical_bytes(receipt: Mapping[str, Any]) -> bytes:
    """Exactly the bytes that are signed: the receipt without `signature`, as compact sorted ASCII JSON."""
    body = {k: v for k, v in receipt.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def sign(receipt: Mapping[str, Any], key: str | bytes | None) -> Receipt:
    """A copy of `receipt` with its HMAC-SHA256 signature; ReceiptKeyError without a usable key."""
    secret = signing_key(key)
    signed: Any = copy.deepcopy(dict(receipt))
    signed.pop("signature", None)
    value = hmac.new(secret, canonical_bytes(signed), hashlib.sha256).hexdigest()
    signed["signature"] = Signature(alg=ALG, keyId=key_id(secret), value=value)
    return signed


def check(receipt: Mapping[str, Any], key: str | bytes | None) -> tuple[bool, str]:
    """(valid, reason): whether `receipt` carries a correct signature under `key`."""
    secret = signing_key(key)
    signature = receipt.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        return False, "the receipt has no signature"
    if signature.get("alg") != ALG:
        return False, f"unsupported signature algorithm {signature.get('alg')!r}"
    if signature.get("keyId") != key_id(secret):
        return False, f"signed with key {signature.get('keyId')}, not with the given key {key_id(secret)}"
    expected = hmac.new(secret, canonical_bytes(receipt), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature["value"].lower()):
        return False, "the signature does not match: the receipt was changed after signing"
    return True, f"signature valid (key {signature['keyId']})"


def verify(receipt: Mapping[str, Any], key: str | bytes | None) -> bool:
    """True when `receipt` is signed with `key` and unchanged since."""
    return check(receipt, key)[0]


# Storage


def receipt_path(request_id: str) -> str:
    return f"receipts/{request_id}.json"


def write_receipt(container: ContainerClient, receipt: Mapping[str, Any]) -> dict[str, Any]:
    """Store a signed receipt (replacing an earlier attempt); `{"path", "size", "sha256"}`. Unsigned: refused."""
    if not isinstance(receipt.get("signature"), dict):
        raise ReceiptKeyError("refusing to write an unsigned receipt")
    data = json.dumps(receipt, indent=2, sort_keys=True, ensure_ascii=True).encode("ascii") + b"\n"
    path = receipt_path(str(receipt["requestId"]))
    container.get_blob_client(path).upload_blob(
        data, overwrite=True, content_settings=ContentSettings(content_type="application/json")
    )
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def issue_receipt(container: ContainerClient, receipt: Mapping[str, Any], key: str | bytes | None) -> Receipt:
    """Sign and store the receipt; returns the signed receipt (ReceiptKeyError, nothing written, without a key)."""
    signed = sign(receipt, key)
    write_receipt(container, signed)
    return signed


def read_receipt(container: ContainerClient, request_id: str) -> dict[str, Any] | None:
    """The stored receipt of a request, or None."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return json.loads(container.get_blob_client(receipt_path(request_id)).download_blob().readall())
    except ResourceNotFoundError:
        return None


# Command line


def main(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    """`verify FILE [--key-file PATH]`: 0 valid, 1 invalid, 2 cannot check."""
    parser = argparse.ArgumentParser(prog="python -m dsr.receipt", description="Check a signed delete receipt.")
    commands = parser.add_subparsers(dest="command", required=True)
    verify_cmd = commands.add_parser("verify", help="check a receipt's HMAC-SHA256 signature")
    verify_cmd.add_argument("file", type=Path, help="the receipt JSON file")
    verify_cmd.add_argument("--key-file", type=Path, help=f"file holding the key (default: env {KEY_ENV})")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    try:
        key = args.key_file.read_text("utf-8").rstrip("\r\n") if args.key_file else env.get(KEY_ENV)
        signing_key(key)
    except (OSError, ReceiptKeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        receipt = json.loads(args.file.read_text("utf-8"))
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError:
        print(f"INVALID: {args.file} is not JSON", file=sys.stderr)
        return 1
    if not isinstance(receipt, dict):
        print(f"INVALID: {args.file} is not a receipt object", file=sys.stderr)
        return 1
    valid, reason = check(receipt, key)
    if valid:
        print(f"valid: receipt {receipt.get('requestId')}: {reason}")
        return 0
    print(f"INVALID: {args.file}: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
