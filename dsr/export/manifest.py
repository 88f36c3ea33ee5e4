"""manifest.json (written last: a reader that finds it knows the export is complete), signed, after index.html.

The signature is one added member of manifest.json, `signature`: `{"alg": "ES256", "kid", "jws"}`, where `jws`
is a compact JWS (ES256, `kid` in its protected header) whose attached payload is the RFC 8785 canonical JSON
statement

    {"kind": "customvision-dsr-export-manifest", "schemaVersion", "requestId", "resource", "startedAt",
     "completedAt", "categories", "files": {"count": N, "sha256": <SHA-256 of the RFC 8785 JSON of `files`>}}

i.e. every contract member of the manifest, the file list by count and digest. Readers of the contract fields
are unaffected, no file is added beside the manifest (it still lists every file written but itself), and the
statement stays small whatever the export's size: the file list is hashed while it is streamed. The manifest's
sha256 of every file carries the signature to the whole export.

`verify_export` checks a downloaded export (signature, statement, then every file's size and sha256); the command
every signed index.html names, `python -m dsr.manifest verify DIR --jwks URL|FILE`, is dsr/manifest.py.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet

from dsr import signing
from dsr.canonical_json import canonical_json
from dsr.envelope import CategoryResult
from dsr.export.index_page import render_index, summarize
from dsr.files import FileRecord
from dsr.layout import INDEX, MANIFEST
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
    sink: ExportSink, header: Mapping[str, Any], *, signer: signing.Signer | None = None, extra_html: str = "",
    files: Iterable[FileRecord] | None = None,
) -> dict[str, Any]:
    """Write index.html, then manifest.json listing every file under the prefix (itself excluded), signed by
    `signer` when given; `files`: that listing made beforehand, in path order (dsr/export/manifest_parts.py).

    The prefix is listed once (or `files` read once): the records are spooled to a temporary file (memory-bounded) while
    index.html's summary is counted, then streamed into the manifest with index.html's own record (read twice
    when signing: once to hash the file list for the signature, once to write it)."""
    kid = signer.current_kid() if signer else None
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+", encoding="utf-8") as spool:

        def spooled() -> Iterator[FileRecord]:
            for record in sink.list_files() if files is None else files:
                if record["path"] not in (MANIFEST, INDEX):
                    spool.write(json.dumps(record) + "\n")
                    yield record

        listed = summarize(spooled())
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
