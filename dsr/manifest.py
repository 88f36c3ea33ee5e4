"""manifest.json (written last: a reader that finds it knows the export is complete) and index.html."""

from __future__ import annotations

import html
import json
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dsr.envelope import CategoryResult
from dsr.files import FileRecord
from dsr.sink import ExportSink

SCHEMA_VERSION = "1.0"
MANIFEST = "manifest.json"
INDEX = "index.html"
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


def write_manifest(sink: ExportSink, header: Mapping[str, Any]) -> dict[str, Any]:
    """Write index.html, then manifest.json listing every file under the prefix (itself excluded).

    The prefix is listed once: the records are spooled to a temporary file (memory-bounded) while
    index.html's summary is counted, then streamed into the manifest with index.html's own record."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+", encoding="utf-8") as spool:

        def spooled() -> Iterator[FileRecord]:
            for record in sink.list_files():
                if record["path"] not in (MANIFEST, INDEX):
                    spool.write(json.dumps(record) + "\n")
                    yield record

        listed = _summarize(spooled())
        index = sink.write_bytes(INDEX, render_index(header, listed).encode("utf-8"))
        spool.seek(0)
        count = 0

        def counted() -> Iterator[FileRecord]:
            nonlocal count
            for record in _insert_sorted(index, (json.loads(line) for line in spool)):
                count += 1
                yield record

        record = sink.write_stream(MANIFEST, manifest_chunks(header, counted()))
    return {"path": record["path"], "files": count, "sha256": record["sha256"]}


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
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Custom Vision data export {esc(header['requestId'])}</title></head><body>"
        f"<h1>Custom Vision data export {esc(header['requestId'])}</h1>"
        f"<p>Resource <b>{esc(header['resource'])}</b>; started {esc(header['startedAt'])}, "
        f"completed {esc(header['completedAt'])}; {listed['bytes']} bytes. "
        "Every file with its size and SHA-256 is listed in <a href='manifest.json'>manifest.json</a>.</p>"
        "<h2>Categories</h2><table border='1' cellpadding='4'><tr><th>category</th><th>status</th>"
        f"<th>count</th><th>error</th></tr>{rows}</table>"
        f"<h2>Files</h2><ul>{singles}</ul><h2>Folders</h2><ul>{bulk}</ul></body></html>\n"
    )
