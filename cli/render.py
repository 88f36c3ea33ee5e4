"""What the command prints, from the API's answers (pure): progress bars, the summary, receipts, refusals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cli import subject
from cli.api import MAX_TEXT
from dsr.layout import receipt_path
from dsr.runtime_status import TERMINAL_STATUSES, RuntimeStatus

BAR_WIDTH = 24
RECEIPTS_WHERE = "in the receipts container (RECEIPT_CONTAINER; the export container when unset)"


def progress_bar(done: int, total: int | None, width: int = BAR_WIDTH) -> str:
    """`[#########---------------]`; unknown or zero totals draw an empty bar."""
    if not total or total < 0:
        return "[" + "-" * width + "]"
    filled = round(width * min(max(done, 0), total) / total)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _fraction(counts: Mapping[str, Any]) -> str:
    total = counts.get("total")
    return f"{counts.get('done', 0)}/{total if total is not None else '?'}"


def headline(status: Mapping[str, Any]) -> str:
    """`request case-1 · export · Running · exporting`."""
    operation = str(status.get("operation") or "?") + (" (dry run)" if status.get("dryRun") else "")
    parts = [f"request {status.get('requestId')}", operation, str(status.get("status"))]
    if status.get("phase"):
        parts.append(str(status["phase"]))
    return " · ".join(parts)


def progress_lines(status: Mapping[str, Any], *, width: int = BAR_WIDTH) -> list[str]:
    """The headline and one bar per category (a TTY redraws these in place)."""
    progress: Mapping[str, Mapping[str, Any]] = status.get("progress") or {}
    name_width = max((len(c) for c in progress), default=0)
    lines = [headline(status)]
    for category, counts in progress.items():
        bar = progress_bar(int(counts.get("done") or 0), counts.get("total"), width)
        lines.append(f"  {category:<{name_width}} {bar} {_fraction(counts)}")
    return lines


def progress_line(status: Mapping[str, Any]) -> str:
    """One line per update for logs and pipes: `request x · export · Running · exporting | tags 1/2, ...`."""
    progress: Mapping[str, Mapping[str, Any]] = status.get("progress") or {}
    counts = ", ".join(f"{c} {_fraction(n)}" for c, n in progress.items())
    return headline(status) + (f" | {counts}" if counts else "")


def summary_lines(status: Mapping[str, Any]) -> list[str]:
    """The final report: outcome, a row per category, then the manifest link or the receipt."""
    result: Mapping[str, Any] = status.get("result") or {}
    categories: Mapping[str, Mapping[str, Any]] = result.get("categories") or {}
    lines = outcome_lines(status)
    lines.extend(category_table(categories))
    lines.extend(subject.summary_lines(status))
    lines.extend(link_lines(status))
    return lines


def outcome_lines(status: Mapping[str, Any]) -> list[str]:
    """The first line (what ran on what, and how it ended) and, unless it simply completed, what that means."""
    runtime = str(status.get("status"))
    result: Mapping[str, Any] = status.get("result") or {}
    operation = str(status.get("operation") or "?") + (" dry run" if status.get("dryRun") else "")
    outcome = f"{runtime} ({result['status']})" if result.get("status") else runtime
    resources = status.get("resources") or [status.get("resource")]
    target = f"resource {resources[0]!s}" if len(resources) == 1 else f"resources {', '.join(map(str, resources))}"
    lines = [f"Request {status.get('requestId')}: {operation} of {target}: {outcome}"]
    error = status.get("error") if isinstance(status.get("error"), Mapping) else None
    if runtime == RuntimeStatus.FAILED and not result:
        reason = f": {_error_text(error)}" if error else "; the host's logs say why"
        lines.append(f"  the request failed before producing a result{reason}")
    elif runtime == RuntimeStatus.FAILED:
        lines.append(f"  the request failed ({result.get('status') or 'see below'}); what it did:")
    elif runtime in (RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED):
        lines.append("  the request was cancelled; nothing more will run")
    elif result.get("status") == "cancelled":
        lines.append("  the request was cancelled: nothing was deleted after that; the receipt shows what was")
    elif runtime not in TERMINAL_STATUSES:
        lines.append("  still running")
    return lines


def link_lines(status: Mapping[str, Any]) -> list[str]:
    """Missing projects, the manifest link or the receipt, the per-project plan and the due date."""
    runtime = str(status.get("status"))
    result: Mapping[str, Any] = status.get("result") or {}
    categories: Mapping[str, Mapping[str, Any]] = result.get("categories") or {}
    lines: list[str] = []
    missing = result.get("missingProjects") or []
    if missing:
        lines.append(f"Projects not found on the resource: {', '.join(map(str, missing))}")
    if result.get("manifestUrl"):
        lines.append(f"Manifest: {result['manifestUrl']}")
    elif runtime == RuntimeStatus.COMPLETED and status.get("operation") == "export":
        lines.append("Manifest: no link (the manifest was not written, or the host cannot sign links)")
    receipt = result.get("receipt")
    if isinstance(receipt, Mapping):
        counted = any("before" in c or "after" in c for c in categories.values())
        lines.extend(receipt_lines(receipt, table=not counted))
    elif result.get("receiptPath"):
        lines.append(f"Receipt: {result['receiptPath']} {RECEIPTS_WHERE}")
    if result.get("detailsPath"):
        lines.append(f"Per-project plan: {result['detailsPath']} in the export container")
    if status.get("dueDate"):
        lines.append(f"Due by: {status['dueDate']} (received {status.get('receivedAt')})")
    return lines


def category_table(categories: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One row per category: status, count, (a delete's before/after counts,) and the error if any."""
    if not categories:
        return []
    counted = any("before" in c or "after" in c for c in categories.values())
    name_width = max(len("category"), *(len(c) for c in categories))
    extra = f"  {'before':>6}  {'after':>6}" if counted else ""
    lines = [f"  {'category':<{name_width}}  {'status':<8}  {'count':>6}{extra}  error"]
    for category, outcome in categories.items():
        error = outcome.get("error")
        reason = _error_text(error) if isinstance(error, Mapping) else ""
        counts = f"  {_count_text(outcome.get('before')):>6}  {_count_text(outcome.get('after')):>6}" if counted else ""
        row = f"  {category:<{name_width}}  {outcome.get('status') or '?':<8}  {outcome.get('count') or 0:>6}{counts}"
        lines.append(f"{row}  {reason}".rstrip())
    return lines


def receipt_lines(receipt: Mapping[str, Any], *, table: bool = True) -> list[str]:
    """A delete receipt: what was signed, before/after counts per category (`table`), and the verification."""
    results = receipt.get("results")
    if not isinstance(results, Mapping):
        return ["Receipt:", *(f"  {line}" for line in _key_value_lines(receipt))]
    signature = receipt.get("signature") if isinstance(receipt.get("signature"), Mapping) else {}
    signed = f"signed {signature.get('alg')}, key {signature.get('keyId')}" if signature else "NOT signed"
    where = f"{receipt_path(receipt['requestId'])} {RECEIPTS_WHERE}" if receipt.get("requestId") else ""
    lines = [f"Receipt ({signed}){': ' + where if where else ''}"]
    name_width = max(len("category"), *(len(str(c)) for c in results))
    if table:
        lines.append(f"  {'category':<{name_width}}  {'before':>6}  {'after':>6}  status")
    for category, entry in results.items() if table else ():
        entry = entry if isinstance(entry, Mapping) else {}
        before, after = (_count_text(entry.get(k)) for k in ("before", "after"))
        code = f" ({entry['errorCode']})" if entry.get("errorCode") else ""
        lines.append(f"  {category:<{name_width}}  {before:>6}  {after:>6}  {entry.get('status')}{code}")
    lines.extend(verification_lines(receipt.get("verification")))
    missing = receipt.get("missingProjects") or []
    if missing:
        lines.append(f"  projects not found (nothing to delete): {', '.join(map(str, missing))}")
    return lines


def verification_lines(verification: Any) -> list[str]:
    """The receipt's verification: clean, or what remains, and its notes."""
    if not isinstance(verification, Mapping):
        return []
    remaining = {k: v for k, v in (verification.get("remaining") or {}).items() if v}
    if verification.get("clean"):
        verdict = "clean, nothing left"
    else:
        verdict = "NOT clean: " + (", ".join(f"{k} {v}" for k, v in remaining.items()) or "see notes")
    return [f"  verification ({verification.get('checkedAt')}): {verdict}",
            *(f"  note: {note}" for note in verification.get("notes") or [])]


def _count_text(value: Any) -> str:
    return "-" if value is None else str(value)


def _key_value_lines(value: Mapping[str, Any], *, limit: int = 30) -> list[str]:
    """Any JSON object as `key: value` lines, nested objects indented, long lists summarized."""
    lines: list[str] = []

    def walk(mapping: Mapping[str, Any], indent: str) -> None:
        for key, item in mapping.items():
            if isinstance(item, Mapping):
                lines.append(f"{indent}{key}:")
                walk(item, indent + "  ")
            elif isinstance(item, list):
                shown = ", ".join(map(str, item[:5])) + (f", … ({len(item)} in all)" if len(item) > 5 else "")
                lines.append(f"{indent}{key}: [{shown}]")
            else:
                lines.append(f"{indent}{key}: {item}")

    walk(value, "")
    return lines if len(lines) <= limit else [*lines[:limit], f"… ({len(lines) - limit} more lines)"]


def _error_text(error: Mapping[str, Any]) -> str:
    text = ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def problem_lines(status: int, problem: Mapping[str, Any] | None, message: str = "") -> list[str]:
    """An API refusal: status, title, detail, then one line per bad field (`/categories/0: must be ...`)."""
    if problem is None:
        return [f"error: {message or f'HTTP {status}'}"]
    title = problem.get("title") or f"HTTP {status}"
    lines = [f"error: {status} {title}"]
    errors = [e for e in problem.get("errors") or [] if isinstance(e, Mapping)]
    if problem.get("detail") and not errors:
        lines.append(f"  {problem['detail']}")
    for error in errors:
        lines.append(f"  {error.get('field') or '(body)'}: {error.get('reason')}")
    return lines
