"""`python -m dsr`: submit, follow and cancel data-subject requests through the HTTP API (DESIGN.md §3).

The same commands work against devhost and an Azure Function app. The host and function key come from
`--host`/`--key` or DSR_HOST/DSR_FUNCTION_KEY; the key travels in the `x-functions-key` header only and
is never printed. The API answers a submit with the request's own status link (`GET /api/requests/{id}`),
never Durable's check-status URLs (they carry the durabletask system key).

Exit codes: 0 done; 1 the request failed, was cancelled, or a category failed; 2 the input was refused
(bad arguments, or a 400/404/409/413 problem from the API); 3 the host could not be used (unreachable,
key refused, unexpected answer); 130 interrupted while following (the request keeps running).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import requests

from dsr import cli_subject
from dsr.layout import receipt_path
from dsr.redact import redact
from dsr.runtime_status import TERMINAL_STATUSES, RuntimeStatus

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130

CATEGORY_NAMES = (
    "account",
    "projects",
    "iterations",
    "iteration_performance",
    "tags",
    "images",
    "exported_models",
    "predictions",
)  # for help text only: the API validates
REFUSED_STATUSES = frozenset({400, 404, 409, 413, 422})
BAR_WIDTH = 24
POLL_INTERVAL = 0.5
MAX_POLL_ERRORS = 10  # consecutive failed polls before giving up (a restarting host, a network blip)
MAX_TEXT = 200
SUBMIT_ATTEMPTS = 3


# --- the API ------------------------------------------------------------------------------------------


class ApiError(Exception):
    """The API answered with an error (`status`, and `problem` when it is problem+json) or not at all (0)."""

    def __init__(self, status: int, message: str, problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem


class ApiClient:
    """The three request endpoints, with the function key in a header (never in URLs or output)."""

    def __init__(
        self, host: str, key: str | None, *, timeout: float = 30.0, session: requests.Session | None = None
    ) -> None:
        self.host = normalize_host(host)
        self.timeout = timeout
        self._session = session or requests.Session()
        self._session.headers["Accept"] = "application/json, application/problem+json"
        if key:
            self._session.headers["x-functions-key"] = key

    def __repr__(self) -> str:
        return f"ApiClient({self.host!r})"

    def submit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /api/requests; `{"id", "statusUri"}` (the id is the request id)."""
        return self._call("POST", "api/requests", json=dict(body))

    def status(self, request_id: str) -> dict[str, Any]:
        """GET /api/requests/{id}."""
        return self._call("GET", f"api/requests/{quote(request_id)}")

    def cancel(self, request_id: str) -> dict[str, Any]:
        """DELETE /api/requests/{id}."""
        return self._call("DELETE", f"api/requests/{quote(request_id)}")

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.host}/{path}"
        try:
            response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(0, f"cannot reach {self.host}: {type(exc).__name__}") from None
        body = _json_or_none(response)
        if response.ok:
            if not isinstance(body, dict):
                raise ApiError(response.status_code, f"{method} {path}: the answer is not a JSON object")
            return body
        content_type = response.headers.get("Content-Type", "")
        problem = body if isinstance(body, dict) and "problem+json" in content_type else None
        if problem is None and isinstance(body, dict) and "title" in body and "status" in body:
            problem = body  # a proxy may drop the media type; the shape is still a problem
        raise ApiError(response.status_code, _error_message(response), problem)


def normalize_host(host: str) -> str:
    """`127.0.0.1:7071`, `http://127.0.0.1:7071/`, `https://app.azurewebsites.net/api` -> the host's root URL."""
    host = host.strip().rstrip("/")
    if not host:
        raise ValueError("no host: pass --host or set DSR_HOST (e.g. http://127.0.0.1:7071)")
    if "://" not in host:
        name = host if host.endswith("]") else host.rsplit(":", 1)[0]
        local = name in ("localhost", "127.0.0.1", "[::1]")
        host = ("http://" if local else "https://") + host
    return host.removesuffix("/api")


def quote(request_id: str) -> str:
    return requests.utils.quote(request_id, safe="")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(response: requests.Response) -> str:
    if response.status_code == 401:
        return "the host refused the function key (401): pass --key or set DSR_FUNCTION_KEY"
    if response.status_code == 403:
        return "the host refused the call (403)"
    text = redact(" ".join(response.text.split()))[:MAX_TEXT]
    return f"HTTP {response.status_code} {response.reason or ''}".rstrip() + (f": {text}" if text else "")


# --- the request body ---------------------------------------------------------------------------------


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """The POST body from the parsed arguments: only what was given (the API applies its defaults)."""
    body: dict[str, Any] = {"operation": args.command}
    if args.resource is not None:
        body["resource"] = args.resource
    if args.projects is not None:
        body["projects"] = list(args.projects)
    if args.categories is not None:
        body["categories"] = list(args.categories)
    if args.request_id is not None:
        body["requestId"] = args.request_id
    body.update(cli_subject.body_fields(args))
    if args.command == "delete":
        if args.dry_run:
            body["dryRun"] = True
        if args.confirm is not None:
            body["confirm"] = args.confirm
    return body


# --- rendering (pure) ---------------------------------------------------------------------------------


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
    categories: Mapping[str, Mapping[str, Any]] = result.get("categories") or {}
    lines.extend(category_table(categories))
    lines.extend(cli_subject.summary_lines(status))
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
        lines.append(f"Receipt: {result['receiptPath']} in the export container")
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
    where = f"{receipt_path(receipt['requestId'])} in the export container" if receipt.get("requestId") else ""
    lines = [f"Receipt ({signed}){': ' + where if where else ''}"]
    name_width = max(len("category"), *(len(str(c)) for c in results))
    if table:
        lines.append(f"  {'category':<{name_width}}  {'before':>6}  {'after':>6}  status")
    for category, entry in results.items() if table else ():
        entry = entry if isinstance(entry, Mapping) else {}
        before, after = (_count_text(entry.get(k)) for k in ("before", "after"))
        code = f" ({entry['errorCode']})" if entry.get("errorCode") else ""
        lines.append(f"  {category:<{name_width}}  {before:>6}  {after:>6}  {entry.get('status')}{code}")
    verification = receipt.get("verification")
    if isinstance(verification, Mapping):
        remaining = {k: v for k, v in (verification.get("remaining") or {}).items() if v}
        if verification.get("clean"):
            verdict = "clean, nothing left"
        else:
            verdict = "NOT clean: " + (", ".join(f"{k} {v}" for k, v in remaining.items()) or "see notes")
        lines.append(f"  verification ({verification.get('checkedAt')}): {verdict}")
        lines.extend(f"  note: {note}" for note in verification.get("notes") or [])
    missing = receipt.get("missingProjects") or []
    if missing:
        lines.append(f"  projects not found (nothing to delete): {', '.join(map(str, missing))}")
    return lines


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


def exit_code(status: Mapping[str, Any]) -> int:
    """0 when the request completed and no category failed; 1 otherwise (failed, cancelled, partial)."""
    if status.get("status") != RuntimeStatus.COMPLETED:
        return EXIT_FAILED
    result: Mapping[str, Any] = status.get("result") or {}
    if result.get("status") in ("failed", "completed_with_errors", "cancelled", "verification_failed"):
        return EXIT_FAILED
    categories: Mapping[str, Mapping[str, Any]] = result.get("categories") or {}
    return EXIT_FAILED if any(c.get("status") == "failed" for c in categories.values()) else EXIT_OK


# --- following a request ------------------------------------------------------------------------------


class ProgressView:
    """Shows progress: bars redrawn in place on a terminal, one line per change otherwise."""

    def __init__(
        self, out: TextIO, *, tty: bool | None = None, width: int = BAR_WIDTH, columns: int | None = None
    ) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.width = width
        # a wrapped line would break the in-place redraw (it moves up by lines written), so lines are clipped
        self.columns = columns or shutil.get_terminal_size(fallback=(100, 24)).columns
        self._drawn = 0
        self._last: str | None = None

    def update(self, status: Mapping[str, Any]) -> None:
        if self.tty:
            lines = [line[: self.columns - 1] for line in progress_lines(status, width=self.width)]
            if "\n".join(lines) == self._last:
                return
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self.out.write(up + "\x1b[J" + "\n".join(lines) + "\n")
            self._drawn, self._last = len(lines), "\n".join(lines)
        else:
            line = progress_line(status)
            if line == self._last:
                return
            self.out.write(line + "\n")
            self._last = line
        self.out.flush()


def follow(
    client: ApiClient,
    request_id: str,
    *,
    view: ProgressView | None,
    interval: float = POLL_INTERVAL,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll the status until the request ends; returns the last status. Raises TimeoutError or ApiError."""
    deadline = None if timeout is None else clock() + timeout
    errors = 0
    while True:
        try:
            status = client.status(request_id)
            errors = 0
        except ApiError as exc:
            # 404 right after a submit (a host whose store lags) and outages are retried; a bad key is not.
            if exc.status in (401, 403) or errors + 1 >= MAX_POLL_ERRORS:
                raise
            errors += 1
        else:
            if view is not None:
                view.update(status)
            if status.get("status") in TERMINAL_STATUSES:
                return status
        if deadline is not None and clock() >= deadline:
            raise TimeoutError(f"request {request_id} has not finished after {timeout:.0f}s")
        sleep(interval)


# --- the command line ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--host", default=None, help="the Function app's URL, e.g. http://127.0.0.1:7071 (default: $DSR_HOST)"
    )
    connection.add_argument(
        "--key", default=None, help="the function key (default: $DSR_FUNCTION_KEY; prefer it: flags show in `ps`)"
    )
    connection.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop following after this long (the request keeps running)",
    )
    connection.add_argument("--interval", type=float, default=POLL_INTERVAL, metavar="SECONDS", help=argparse.SUPPRESS)

    request = argparse.ArgumentParser(add_help=False)
    request.add_argument("--resource", default=None, help="alias of a configured resource (default: default)")
    request.add_argument("--projects", nargs="+", metavar="ID", default=None, help="project ids (default: all)")
    request.add_argument(
        "--categories", nargs="+", metavar="CAT", default=None, help=f"default: all of {', '.join(CATEGORY_NAMES)}"
    )
    request.add_argument("--request-id", default=None, help="idempotency key, 1-64 of [A-Za-z0-9_-]")
    request.add_argument("--no-wait", action="store_true", help="submit and exit; follow later with `status`")
    cli_subject.add_arguments(request)

    parser = argparse.ArgumentParser(
        prog="python -m dsr",
        description=__doc__.split("\n")[0].split(": ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("export", parents=[connection, request], help="export every requested category to Blob")
    delete = commands.add_parser("delete", parents=[connection, request], help="delete, verify, and sign a receipt")
    delete.add_argument("--confirm", metavar="ALIAS", default=None,
                        help='the resource alias again (required; a subject delete of several or all resources: "*")')
    delete.add_argument("--dry-run", action="store_true", help="plan and count only; delete nothing")
    status = commands.add_parser("status", parents=[connection], help="show a request's status")
    status.add_argument("request_id", metavar="ID")
    status.add_argument("--watch", action="store_true", help="follow it until it ends")
    cancel = commands.add_parser("cancel", parents=[connection], help="cancel a running request")
    cancel.add_argument("request_id", metavar="ID")
    return parser


def client_from(args: argparse.Namespace, environ: Mapping[str, str]) -> ApiClient:
    """The client for --host/--key, falling back to DSR_HOST/DSR_FUNCTION_KEY; ValueError without a host."""
    host = args.host or environ.get("DSR_HOST") or ""
    return ApiClient(host, args.key or environ.get("DSR_FUNCTION_KEY") or None)


def submit_and_follow(
    client: ApiClient,
    body: Mapping[str, Any],
    *,
    out: TextIO,
    wait: bool = True,
    interval: float = POLL_INTERVAL,
    timeout: float | None = None,
    tty: bool | None = None,
) -> tuple[int, dict[str, Any] | None]:
    """Submit, then (when `wait`) show progress and the summary; (exit code, last status). Raises ApiError."""
    started = submit(client, body)
    request_id = str(started.get("id"))
    print(f"Submitted {body['operation']} request {request_id} to {client.host}", file=out, flush=True)
    if not wait:
        print(f"Follow it with: python -m dsr status {request_id} --watch", file=out)
        return EXIT_OK, None
    return follow_and_report(client, request_id, out=out, interval=interval, timeout=timeout, tty=tty)


def submit(
    client: ApiClient,
    body: Mapping[str, Any],
    *,
    attempts: int = SUBMIT_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """POST the request, retrying when the answer is lost (no answer, 5xx).

    Safe because the body always carries a requestId (one is generated when none was given): the API
    answers a repeat with the run it already started, never a second run.
    """
    body = {**body, "requestId": body.get("requestId") or str(uuid.uuid4())}
    for attempt in range(1, attempts + 1):
        try:
            return client.submit(body)
        except ApiError as exc:
            if attempt == attempts or not (exc.status == 0 or exc.status >= 500):
                raise
            sleep(float(attempt))
    raise AssertionError("unreachable")


def follow_and_report(
    client: ApiClient,
    request_id: str,
    *,
    out: TextIO,
    interval: float = POLL_INTERVAL,
    timeout: float | None = None,
    tty: bool | None = None,
) -> tuple[int, dict[str, Any] | None]:
    """Show progress until the request ends, then the summary; (exit code, final status). Raises ApiError."""
    try:
        status = follow(client, request_id, view=ProgressView(out, tty=tty), interval=interval, timeout=timeout)
    except (TimeoutError, KeyboardInterrupt) as exc:
        why = str(exc) if isinstance(exc, TimeoutError) else "interrupted"
        print(
            f"\n{why}; the request keeps running: python -m dsr status {request_id} --watch "
            f"(or: python -m dsr cancel {request_id})",
            file=out,
            flush=True,
        )
        return (EXIT_FAILED if isinstance(exc, TimeoutError) else EXIT_INTERRUPTED), None
    print("\n".join(summary_lines(status)), file=out, flush=True)
    return exit_code(status), status


def run(args: argparse.Namespace, *, out: TextIO, err: TextIO, environ: Mapping[str, str]) -> int:
    """Run one parsed command; every expected failure becomes a message and an exit code."""
    try:
        client = client_from(args, environ)
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_REFUSED
    try:
        if args.command in ("export", "delete"):
            try:
                body = request_body(args)
            except ValueError as exc:
                print(f"error: {exc}", file=err)
                return EXIT_REFUSED
            code, _ = submit_and_follow(
                client, body, out=out, wait=not args.no_wait, interval=args.interval, timeout=args.timeout
            )
            return code
        if args.command == "cancel":
            answer = client.cancel(args.request_id)
            print(f"Request {answer.get('requestId', args.request_id)}: {answer.get('status', 'cancelling')}", file=out)
            return EXIT_OK
        status = client.status(args.request_id)
        if args.watch and status.get("status") not in TERMINAL_STATUSES:
            code, _ = follow_and_report(client, args.request_id, out=out, interval=args.interval, timeout=args.timeout)
            return code
        if status.get("status") not in TERMINAL_STATUSES:
            print("\n".join(progress_lines(status)), file=out)
            return EXIT_OK
        print("\n".join(summary_lines(status)), file=out)
        return exit_code(status)
    except ApiError as exc:
        print("\n".join(problem_lines(exc.status, exc.problem, str(exc))), file=err)
        return EXIT_REFUSED if exc.status in REFUSED_STATUSES else EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        print("\ninterrupted", file=err)
        return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args, out=sys.stdout, err=sys.stderr, environ=os.environ)
