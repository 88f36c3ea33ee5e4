"""manifest.json (written last: a reader that finds it knows the export is complete), index.html, and the
manifest's signature.

The signature is a detached file, `manifest.json.jws`: a compact JWS (ES256, `kid` in its protected header)
whose payload is the RFC 8785 canonical JSON statement `{"kind", "requestId", "resource", "completedAt",
"manifest": {"path": "manifest.json", "size", "sha256"}}`. It is written just before manifest.json, so the
manifest is still the last file; the manifest itself only gains a `signature` member naming the file and the
`kid` (readers of the contract fields are unaffected), and lists every file but itself and its signature.
The manifest cannot carry a signature over its own bytes, and it is streamed (millions of files), so the
statement signs its hash; the manifest's sha256 of every file carries the signature to the whole export.

Command: `python -m dsr.manifest verify DIR --jwks URL|FILE` checks a downloaded export (signature,
then every file's size and sha256): 0 valid, 1 invalid, 2 cannot check.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet

from dsr import signing
from dsr.envelope import CategoryResult
from dsr.files import FileRecord
from dsr.sink import ExportSink

SCHEMA_VERSION = "1.0"
MANIFEST = "manifest.json"
INDEX = "index.html"
SIGNATURE = "manifest.json.jws"
STATEMENT_KIND = "customvision-dsr-export-manifest"
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # listed records kept in memory before the spool moves to disk
_BULK_DIRS = ("/images/", "/predictions/", "/exported_models/")  # summarized by count in index.html


def manifest_header(
    *, request_id: str, resource: str, started_at: str, completed_at: str, categories: Mapping[str, CategoryResult]
) -> dict[str, Any]:
    """Everything in manifest.json except `files`."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "requestId": request_id,
        "resource": resource,
        "startedAt": started_at,
        "completedAt": completed_at,
        "categories": {
            name: {"status": r["status"], "count": r["count"], "error": r["error"]} for name, r in categories.items()
        },
    }


def manifest_chunks(header: Mapping[str, Any], files: Iterable[FileRecord]) -> Iterator[bytes]:
    """manifest.json as a stream, so a manifest of millions of files never sits in memory."""
    head = json.dumps(dict(header), indent=2, sort_keys=True, ensure_ascii=False)
    yield (head[:-2] + ',\n  "files": [').encode("utf-8")
    for n, record in enumerate(files):
        entry = json.dumps({"path": record["path"], "size": record["size"], "sha256": record["sha256"]})
        yield (("," if n else "") + "\n    " + entry).encode("utf-8")
    yield b"\n  ]\n}\n"


def statement(header: Mapping[str, Any], size: int, sha256: str) -> dict[str, Any]:
    """What manifest.json.jws signs: which export, and the manifest's exact bytes by size and hash."""
    return {
        "kind": STATEMENT_KIND,
        "requestId": header["requestId"],
        "resource": header["resource"],
        "completedAt": header["completedAt"],
        "manifest": {"path": MANIFEST, "size": size, "sha256": sha256},
    }


def write_manifest(
    sink: ExportSink, header: Mapping[str, Any], *, signer: signing.Signer | None = None
) -> dict[str, Any]:
    """Write index.html, then (with `signer`) manifest.json.jws, then manifest.json listing every file under
    the prefix (itself and its signature excluded).

    The prefix is listed once: the records are spooled to a temporary file (memory-bounded) while
    index.html's summary is counted, then streamed into the manifest with index.html's own record (twice
    when signing: once to hash the manifest for its signature, once to upload it)."""
    kid = signer.current_kid() if signer else None
    if kid:
        header = {**header, "signature": {"alg": signing.ALG, "kid": kid, "file": SIGNATURE}}
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+", encoding="utf-8") as spool:

        def spooled() -> Iterator[FileRecord]:
            for record in sink.list_files():
                if record["path"] not in (MANIFEST, INDEX, SIGNATURE):
                    spool.write(json.dumps(record) + "\n")
                    yield record

        listed = _summarize(spooled())
        index = sink.write_bytes(INDEX, render_index(header, listed).encode("utf-8"))
        count = 0

        def listing() -> Iterator[FileRecord]:
            nonlocal count
            spool.seek(0)
            count = 0
            for record in _insert_sorted(index, (json.loads(line) for line in spool)):
                count += 1
                yield record

        digest = None
        if signer and kid:
            size, digest = _hash(manifest_chunks(header, listing()))
            token = signer.sign(signing.canonical_json(statement(header, size, digest)))
            if signing.header_of(token).get("kid") != kid:  # the key rotated since the header named it
                raise signing.SigningError(f"the signing key changed while signing the manifest (was {kid}); retry")
            sink.write_bytes(SIGNATURE, token.encode("ascii"), content_type="application/jose")
        record = sink.write_stream(MANIFEST, manifest_chunks(header, listing()))
        if digest is not None and record["sha256"] != digest:
            raise RuntimeError("manifest.json changed between signing and writing it; retry")
    written = {"path": record["path"], "files": count, "sha256": record["sha256"]}
    return {**written, "signature": SIGNATURE, "kid": kid} if kid else written


def _hash(chunks: Iterable[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _insert_sorted(extra: FileRecord, records: Iterable[FileRecord]) -> Iterator[FileRecord]:
    """`records` (sorted by path, as storage lists them) with `extra` in its place."""
    pending: FileRecord | None = extra
    for record in records:
        if pending is not None and record["path"] > pending["path"]:
            yield pending
            pending = None
        yield record
    if pending is not None:
        yield pending


def _summarize(files: Iterable[FileRecord]) -> dict[str, Any]:
    singles: list[FileRecord] = []
    bulk: Counter[str] = Counter()
    total = 0
    for record in files:
        total += record["size"]
        folder = next((d for d in _BULK_DIRS if d in f"/{record['path']}"), None)
        if folder:
            bulk[record["path"].rsplit("/", 1)[0]] += 1
        else:
            singles.append(record)
    return {"singles": singles, "bulk": dict(sorted(bulk.items())), "bytes": total}


def render_index(header: Mapping[str, Any], listed: Mapping[str, Any]) -> str:
    """A self-contained page summarizing the export for a person, with relative links to its files."""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{esc(r['status'])}</td><td>{r['count']}</td>"
        f"<td>{esc((r['error'] or {}).get('message', ''))}</td></tr>"
        for name, r in header["categories"].items()
    )
    singles = "".join(
        f'<li><a href="{esc(f["path"])}">{esc(f["path"])}</a> ({f["size"]} bytes)</li>' for f in listed["singles"]
    )
    bulk = "".join(f"<li>{esc(folder)}/: {n} files</li>" for folder, n in listed["bulk"].items())
    signature = header.get("signature")
    signed = (
        f"<p>manifest.json is signed ({esc(signature['alg'])}, key <code>{esc(signature['kid'])}</code>): its "
        f"signature is <a href='{esc(signature['file'])}'>{esc(signature['file'])}</a>, checked with the public "
        "keys published by the service that made this export (GET /api/keys): "
        "<code>python -m dsr.manifest verify &lt;this folder&gt; --jwks &lt;key set URL or file&gt;</code>.</p>"
        if isinstance(signature, Mapping) else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Custom Vision data export {esc(header['requestId'])}</title></head><body>"
        f"<h1>Custom Vision data export {esc(header['requestId'])}</h1>"
        f"<p>Resource <b>{esc(header['resource'])}</b>; started {esc(header['startedAt'])}, "
        f"completed {esc(header['completedAt'])}; {listed['bytes']} bytes. "
        "Every file with its size and SHA-256 is listed in <a href='manifest.json'>manifest.json</a>.</p>"
        f"{signed}"
        "<h2>Categories</h2><table border='1' cellpadding='4'><tr><th>category</th><th>status</th>"
        f"<th>count</th><th>error</th></tr>{rows}</table>"
        f"<h2>Files</h2><ul>{singles}</ul><h2>Folders</h2><ul>{bulk}</ul></body></html>\n"
    )


# Verification


def verify_export(folder: Path, keys: KeySet) -> tuple[bool, list[str]]:
    """(valid, findings) of a downloaded export: the manifest's signature, then every listed file."""
    try:
        manifest_bytes = (folder / MANIFEST).read_bytes()
        token = (folder / SIGNATURE).read_text("ascii").strip()
    except OSError as exc:
        return False, [f"cannot read {exc.filename}: {exc.strerror}"]
    valid, reason, payload = signing.verify(token, keys)
    if not valid:
        return False, [f"{SIGNATURE}: {reason}"]
    try:
        signed, manifest = json.loads(payload), json.loads(manifest_bytes)
    except ValueError:
        return False, [f"{SIGNATURE} or {MANIFEST} is not JSON"]
    findings = [f"{SIGNATURE}: {reason}"]
    expected = {"path": MANIFEST, "size": len(manifest_bytes), "sha256": hashlib.sha256(manifest_bytes).hexdigest()}
    if signed.get("kind") != STATEMENT_KIND or signed.get("manifest") != expected:
        return False, [*findings, f"{MANIFEST} is not the manifest that was signed (size or sha256 differ)"]
    if signed.get("requestId") != manifest.get("requestId"):
        return False, [*findings, "the signature is for another request"]
    bad = []
    for entry in manifest.get("files", []):
        try:
            size, digest = _hash_file(folder / entry["path"])
        except OSError:
            bad.append(f"{entry['path']}: missing")
            continue
        if (size, digest) != (entry["size"], entry["sha256"]):
            bad.append(f"{entry['path']}: size or sha256 differ from the manifest")
    if bad:
        return False, [*findings, *bad]
    return True, [*findings, f"{len(manifest.get('files', []))} files match the signed manifest"]


def _hash_file(path: Path) -> tuple[int, str]:
    with path.open("rb") as handle:
        return _hash(iter(lambda: handle.read(1024 * 1024), b""))


def main(argv: Sequence[str] | None = None) -> int:
    """`verify DIR --jwks URL|FILE`: 0 valid, 1 invalid, 2 cannot check."""
    parser = argparse.ArgumentParser(prog="python -m dsr.manifest", description="Check a downloaded export.")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check manifest.json.jws, then every file against manifest.json")
    verify.add_argument("folder", type=Path, help="the export's folder (holding manifest.json)")
    verify.add_argument("--jwks", required=True, help="the issuer's public keys: URL of GET /api/keys, or a file")
    args = parser.parse_args(argv)
    try:
        keys = signing.key_set(signing.load_jwks(args.jwks))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    valid, findings = verify_export(args.folder, keys)
    for line in findings:
        print(line, file=sys.stdout if valid else sys.stderr)
    print(("valid: " if valid else "INVALID: ") + str(args.folder), file=sys.stdout if valid else sys.stderr)
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
