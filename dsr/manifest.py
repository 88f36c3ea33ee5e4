"""manifest.json (written last: a reader that finds it knows the export is complete) and index.html, signed.

The signature is one added member of manifest.json, `signature`: `{"alg": "ES256", "kid", "jws"}`, where `jws`
is a compact JWS (ES256, `kid` in its protected header) whose attached payload is the RFC 8785 canonical JSON
statement

    {"kind": "customvision-dsr-export-manifest", "schemaVersion", "requestId", "resource", "startedAt",
     "completedAt", "categories", "files": {"count": N, "sha256": <SHA-256 of the RFC 8785 JSON of `files`>}}

i.e. every contract member of the manifest, the file list by count and digest. Readers of the contract fields
are unaffected, no file is added beside the manifest (it still lists every file written but itself), and the
statement stays small whatever the export's size: the file list is hashed while it is streamed. The manifest's
sha256 of every file carries the signature to the whole export.

Command: `python -m dsr.manifest verify DIR --jwks URL|FILE` checks a downloaded export (signature, statement,
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
from dsr.canonical_json import canonical_json
from dsr.envelope import CategoryResult
from dsr.files import FileRecord
from dsr.layout import BULK_FOLDERS, INDEX, MANIFEST
from dsr.sink import ExportSink

SCHEMA_VERSION = "1.0"
STATEMENT_KIND = "customvision-dsr-export-manifest"
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # listed records kept in memory before the spool moves to disk


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


def statement(header: Mapping[str, Any], files_count: int, files_sha256: str) -> dict[str, Any]:
    """What `signature.jws` signs: every contract member but `files`, which is named by count and digest."""
    members = {k: header[k] for k in ("schemaVersion", "requestId", "resource", "startedAt", "completedAt",
                                      "categories")}
    return {**members, "kind": STATEMENT_KIND, "files": {"count": files_count, "sha256": files_sha256}}


def files_digest(files: Iterable[Mapping[str, Any]]) -> tuple[int, str]:
    """(count, sha256) of the RFC 8785 canonical JSON of the `files` list, computed entry by entry."""
    digest = hashlib.sha256(b"[")
    count = 0
    for record in files:
        entry = {"path": record["path"], "size": record["size"], "sha256": record["sha256"]}
        digest.update((b"," if count else b"") + canonical_json(entry))
        count += 1
    digest.update(b"]")
    return count, digest.hexdigest()


def write_manifest(
    sink: ExportSink, header: Mapping[str, Any], *, signer: signing.Signer | None = None, extra_html: str = ""
) -> dict[str, Any]:
    """Write index.html, then manifest.json listing every file under the prefix (itself excluded), signed by
    `signer` when given.

    The prefix is listed once: the records are spooled to a temporary file (memory-bounded) while
    index.html's summary is counted, then streamed into the manifest with index.html's own record (read twice
    when signing: once to hash the file list for the signature, once to write it)."""
    kid = signer.current_kid() if signer else None
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+", encoding="utf-8") as spool:

        def spooled() -> Iterator[FileRecord]:
            for record in sink.list_files():
                if record["path"] not in (MANIFEST, INDEX):
                    spool.write(json.dumps(record) + "\n")
                    yield record

        listed = _summarize(spooled())
        index = sink.write_bytes(INDEX, render_index(header, listed, kid=kid, extra_html=extra_html).encode("utf-8"))
        count = 0

        def listing() -> Iterator[FileRecord]:
            nonlocal count
            spool.seek(0)
            count = 0
            for record in _insert_sorted(index, (json.loads(line) for line in spool)):
                count += 1
                yield record

        if signer and kid:
            token = signer.sign(canonical_json(statement(header, *files_digest(listing()))))
            if signing.header_of(token).get("kid") != kid:  # the key rotated since index.html named it
                raise signing.SigningError(f"the signing key changed while signing the manifest (was {kid}); retry")
            header = {**header, "signature": {"alg": signing.ALG, "kid": kid, "jws": token}}
        record = sink.write_stream(MANIFEST, manifest_chunks(header, listing()))
    written = {"path": record["path"], "files": count, "sha256": record["sha256"]}
    return {**written, "kid": kid} if kid else written


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
        folder = next((d for d in BULK_FOLDERS if f"/{d}/" in f"/{record['path']}"), None)
        if folder:
            bulk[record["path"].rsplit("/", 1)[0]] += 1
        else:
            singles.append(record)
    return {"singles": singles, "bulk": dict(sorted(bulk.items())), "bytes": total}


def render_index(header: Mapping[str, Any], listed: Mapping[str, Any], *, kid: str | None = None,
                 extra_html: str = "") -> str:
    """A self-contained page summarizing the export for a person, with relative links to its files (and
    `extra_html`, already escaped, before the file list: a subject export's search report)."""
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
    signed = (
        f"<p>manifest.json is signed (ES256, key <code>{esc(kid)}</code>, its <code>signature</code> member), "
        "checked with the public keys published by the service that made this export (GET /api/keys): "
        "<code>python -m dsr.manifest verify &lt;this folder&gt; --jwks &lt;key set URL or file&gt;</code>.</p>"
        if kid else ""
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
        f"<th>count</th><th>error</th></tr>{rows}</table>{extra_html}"
        f"<h2>Files</h2><ul>{singles}</ul><h2>Folders</h2><ul>{bulk}</ul></body></html>\n"
    )


# Verification


def verify_export(folder: Path, keys: KeySet) -> tuple[bool, list[str]]:
    """(valid, findings) of a downloaded export: the manifest's signature and statement, then every file."""
    try:
        manifest = json.loads((folder / MANIFEST).read_bytes())
    except OSError as exc:
        return False, [f"cannot read {exc.filename}: {exc.strerror}"]
    except ValueError:
        return False, [f"{MANIFEST} is not JSON"]
    signature = manifest.get("signature") if isinstance(manifest, dict) else None
    if not isinstance(signature, dict) or not isinstance(signature.get("jws"), str):
        return False, [f"{MANIFEST} is not signed"]
    valid, reason, payload = signing.verify(signature["jws"], keys)
    if not valid:
        return False, [f"signature: {reason}"]
    findings = [f"signature: {reason}"]
    try:
        expected = statement(manifest, *files_digest(manifest.get("files", [])))
    except (KeyError, TypeError, ValueError):
        return False, [*findings, f"{MANIFEST} lacks a contract member"]
    if canonical_json(expected) != payload:
        return False, [*findings, f"{MANIFEST} is not the manifest that was signed (a member or the file list differs)"]
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
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """`verify DIR --jwks URL|FILE`: 0 valid, 1 invalid, 2 cannot check."""
    parser = argparse.ArgumentParser(prog="python -m dsr.manifest", description="Check a downloaded export.")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check manifest.json's signature, then every file against it")
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
