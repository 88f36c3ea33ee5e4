"""index.html of an export: a self-contained page for a person, the categories and relative links to the files
(folders of one file per item counted, not listed), written just before manifest.json."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from dsr.files import FileRecord
from dsr.layout import BULK_FOLDERS


def summarize(files: Iterable[FileRecord]) -> dict[str, Any]:
    """The files listed one by one, the per-folder counts of bulk folders, and the total bytes."""
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
