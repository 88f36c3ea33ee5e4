"""Per-project documents of a subject request in its scratch (`resources/{alias}/...` in dsr/scratch.py's
container): what the search found and what verification left, read back by the request's last activity. Counts
and ids of projects and iterations only; removed with the scratch once the report, plan or receipt is written."""

from __future__ import annotations

from typing import Any

from dsr import scratch
from dsr.layout import subject_piece
from dsr.sink import ExportSink

FINDING = "finding"  # dsr.subject.search.Finding
REMAINING = "remaining"  # dsr.subject.erase.Remaining


def write_piece(work: ExportSink, alias: str, project_id: str, kind: str, document: Any) -> None:
    work.write_json(subject_piece(alias, project_id, kind), document)


def read_piece(work: ExportSink, alias: str, project_id: str, kind: str) -> dict[str, Any] | None:
    document = work.read_json(subject_piece(alias, project_id, kind))
    return document if isinstance(document, dict) else None


def clear(work: ExportSink) -> int:
    """Remove the request's scratch (image parts, findings); the selector blob stays for retention."""
    return scratch.clear(work)
