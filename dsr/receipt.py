"""Signed delete receipts: `receipts/{requestId}.json` in the receipts container (DESIGN.md §5).

A receipt holds request metadata (request id, resource alias, categories, project ids), per-category
before/after counts, timestamps and the verification result; never names, image ids, keys or service
messages (which can quote ids). Anyone can check it with the published public key (GET /api/keys):

    signed bytes = RFC 8785 (JCS) canonical JSON of the receipt without its "signature" member
    signature    = {"alg": "ES256", "keyId": <kid>, "canonicalization": "RFC8785",
                    "jws": <compact JWS of the signed bytes, payload detached: "header..signature">}

The JWS protected header is `{"alg": "ES256", "kid": <kid>}`; the kid is the RFC 7638 thumbprint of the key.
The stored file is indented for people; verification re-canonicalizes, so whitespace does not matter.
Receipts issued before ES256 carry an HMAC-SHA256 signature and verify with the old key (dsr/receipt_hmac.py).
Receipts are written once (never overwritten) next to a short HTML summary, `receipts/{requestId}.html`.

Command: `python -m dsr.receipt verify FILE --jwks URL|FILE` (HMAC receipts: `--key-file PATH` or
RECEIPT_SIGNING_KEY); `python -m dsr.receipt summary FILE --jwks URL|FILE [-o OUT.html]`.
Exit 0 valid, 1 invalid, 2 when it cannot check (no key given, unreadable file or key set).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings
from joserfc.jwk import KeySet

from dsr import receipt_hmac, signing
from dsr.canonical_json import canonical_json
from dsr.categories import Operation
from dsr.delete.plan import ProjectPlan, category_counts
from dsr.delete.results import category_outcome, receipt_entry
from dsr.delete.verify import Verification
from dsr.layout import receipt_path
from dsr.receipt_hmac import ReceiptKeyError
from dsr.receipt_summary import render_summary
from dsr.settings import Settings

SCHEMA_VERSION = 1
KIND = "customvision-dsr-delete-receipt"
ALG = signing.ALG
CANONICALIZATION = "RFC8785"
KEY_ENV = receipt_hmac.KEY_ENV  # the HMAC key of receipts issued before ES256 (verification only)


class ReceiptExistsError(RuntimeError):
    """A different receipt is already stored under this request id: receipts are never overwritten."""


class Signature(TypedDict):
    """`ES256`: `jws` (detached) + `canonicalization`; `HMAC-SHA256` (issued before ES256): `value`."""

    alg: str
    keyId: str
    jws: NotRequired[str]
    canonicalization: NotRequired[str]
    value: NotRequired[str]


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


def signed_bytes(receipt: Mapping[str, Any]) -> bytes:
    """Exactly the bytes that are signed: the receipt without `signature`, RFC 8785 canonical JSON."""
    return canonical_json({k: v for k, v in receipt.items() if k != "signature"})


def sign(receipt: Mapping[str, Any], signer: signing.Signer) -> Receipt:
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


# Storage


_receipt_services: dict[str, BlobServiceClient] = {}


def receipts_container(settings: Settings) -> ContainerClient:
    """Where receipts go: RECEIPT_CONTAINER in RECEIPT_STORAGE_ACCOUNT_URL (Azure: a write-once container),
    each defaulting to the export account and container."""
    from dsr.storage import blob_service, client_options

    if settings.receipt_account_url:
        service = _receipt_services.get(settings.receipt_account_url)
        if service is None:
            from azure.identity import DefaultAzureCredential

            service = BlobServiceClient(settings.receipt_account_url, credential=DefaultAzureCredential(),
                                        **client_options())
            _receipt_services[settings.receipt_account_url] = service
    else:
        service = blob_service(settings)
    container = service.get_container_client(settings.receipts_container)
    if not settings.receipt_account_url and not container.exists():  # Azure: infra makes it, with its policy
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
    return container


def write_receipt(container: ContainerClient, receipt: Mapping[str, Any]) -> dict[str, Any]:
    """Store a signed receipt once (If-None-Match: *); `{"path", "size", "sha256"}`. Unsigned: refused.

    ReceiptExistsError when a receipt of this request id is already stored: a receipt is never replaced."""
    if not isinstance(receipt.get("signature"), dict):
        raise ReceiptKeyError("refusing to write an unsigned receipt")
    data = json.dumps(receipt, indent=2, sort_keys=True, ensure_ascii=True).encode("ascii") + b"\n"
    path = receipt_path(str(receipt["requestId"]))
    try:
        container.get_blob_client(path).upload_blob(
            data, overwrite=False, content_settings=ContentSettings(content_type="application/json")
        )
    except ResourceExistsError:
        raise ReceiptExistsError(f"{path} already exists; receipts are write-once") from None
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def issue_receipt(container: ContainerClient, receipt: Mapping[str, Any], signer: signing.Signer) -> Receipt:
    """Sign and store the receipt and its HTML summary, once; returns the stored signed receipt.

    A retry after an earlier attempt stored this same receipt (same signed content) returns that one;
    a different receipt under the same request id raises ReceiptExistsError and changes nothing."""
    signed = sign(receipt, signer)
    keys = signing.key_set(signing.jwks(signer))
    valid, reason = check(signed, keys=keys)
    if not valid:  # never store what our own published keys would not accept
        raise signing.SigningError(f"the new receipt does not verify with the published keys: {reason}")
    try:
        write_receipt(container, signed)
    except ReceiptExistsError:
        stored = read_receipt(container, str(receipt["requestId"]))
        if stored is None or signed_bytes(stored) != signed_bytes(signed) or not check(stored, keys=keys)[0]:
            raise
        signed = stored  # type: ignore[assignment]
    html = render_summary(signed, valid=True, reason=f"checked when issued: {reason}",
                          keys_source="GET /api/keys of the service that issued it")
    with contextlib.suppress(ResourceExistsError):  # else written by an earlier attempt, from the same receipt
        container.get_blob_client(receipt_path(str(receipt["requestId"]), ".html")).upload_blob(
            html.encode("utf-8"), overwrite=False,
            content_settings=ContentSettings(content_type="text/html; charset=utf-8"),
        )
    return signed


def read_receipt(container: ContainerClient, request_id: str) -> dict[str, Any] | None:
    """The stored receipt of a request, or None."""
    try:
        return json.loads(container.get_blob_client(receipt_path(request_id)).download_blob().readall())
    except ResourceNotFoundError:
        return None


# Command line


def main(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    """`verify FILE` / `summary FILE` with `--jwks URL|FILE` (or the HMAC key): 0 valid, 1 invalid, 2 cannot check."""
    parser = argparse.ArgumentParser(prog="python -m dsr.receipt", description="Check a signed delete receipt.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("verify", "check a receipt's signature"),
                       ("summary", "check it and write a short HTML summary for the data subject")):
        command = commands.add_parser(name, help=text)
        command.add_argument("file", type=Path, help="the receipt JSON file")
        command.add_argument("--jwks", help="the issuer's public keys: URL of GET /api/keys, or a JWKS file")
        command.add_argument("--key-file", type=Path,
                             help=f"HMAC receipts (issued before ES256): file holding the key (default: env {KEY_ENV})")
        if name == "summary":
            command.add_argument("-o", "--output", type=Path, help="where to write the HTML (default: stdout)")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
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
    try:
        keys = signing.key_set(signing.load_jwks(args.jwks)) if args.jwks else None
        hmac_key = args.key_file.read_text("utf-8").rstrip("\r\n") if args.key_file else env.get(KEY_ENV)
        valid, reason = check(receipt, keys=keys, hmac_key=hmac_key)
    except (OSError, ValueError) as exc:  # ReceiptKeyError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "summary":
        source = args.jwks or "the HMAC key"
        html = render_summary(receipt, valid=valid, reason=reason, keys_source=source)
        if args.output:
            args.output.write_text(html, "utf-8")
        else:
            sys.stdout.write(html)
    if valid:
        print(f"valid: receipt {receipt.get('requestId')}: {reason}", file=sys.stderr if args.command == "summary"
              and not args.output else sys.stdout)
        return 0
    print(f"INVALID: {args.file}: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
