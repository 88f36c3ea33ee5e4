"""The `dsr` command: run one parsed command against the API, every expected failure a message and an exit code."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from cli.api import ApiClient, ApiError
from cli.args import PROG, build_parser, request_body
from cli.exits import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    REFUSED_STATUSES,
    exit_code,
)
from cli.progress import POLL_INTERVAL, ProgressView, follow
from cli.render import problem_lines, progress_lines, summary_lines
from dsr.runtime_status import TERMINAL_STATUSES


def client_from(args: argparse.Namespace, environ: Mapping[str, str]) -> ApiClient:
    """The client for --host/--key, falling back to DSR_HOST/DSR_FUNCTION_KEY; ValueError without a host."""
    host = args.host or environ.get("DSR_HOST") or ""
    return ApiClient(host, args.key or environ.get("DSR_FUNCTION_KEY") or None)


def submit(client: ApiClient, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST the request with a requestId (one is generated when none was given), so the client's retries of a
    lost answer (cli.api.retry_policy) are answered with the run already started, never a second run."""
    return client.submit({**body, "requestId": body.get("requestId") or str(uuid.uuid4())})


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
        body = request_body(args) if args.command in ("export", "delete") else None
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_REFUSED
    try:
        if body is not None:
            code, _ = submit_and_follow(
                client, body, out=out, wait=not args.no_wait, interval=args.interval, timeout=args.timeout
            )
            return code
        if args.command == "cancel":
            answer = client.cancel(args.request_id)
            print(f"Request {answer.get('requestId', args.request_id)}: {answer.get('status', 'cancelling')}", file=out)
            return EXIT_OK
        return show_status(client, args, out=out)
    except ApiError as exc:
        print("\n".join(problem_lines(exc.status, exc.problem, str(exc))), file=err)
        return EXIT_REFUSED if exc.status in REFUSED_STATUSES else EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        print("\ninterrupted", file=err)
        return EXIT_INTERRUPTED


def show_status(client: ApiClient, args: argparse.Namespace, *, out: TextIO) -> int:
    """`status ID [--watch]`: the bars of a running request (followed with --watch), else its summary."""
    status = client.status(args.request_id)
    if args.watch and status.get("status") not in TERMINAL_STATUSES:
        code, _ = follow_and_report(client, args.request_id, out=out, interval=args.interval, timeout=args.timeout)
        return code
    if status.get("status") not in TERMINAL_STATUSES:
        print("\n".join(progress_lines(status)), file=out)
        return EXIT_OK
    print("\n".join(summary_lines(status)), file=out)
    return exit_code(status)


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point (`dsr`, `python -m dsr`)."""
    installed = os.path.basename(sys.argv[0]) == "dsr"  # the console script, not `python -m dsr`
    args = build_parser("dsr" if installed else PROG).parse_args(argv)
    return run(args, out=sys.stdout, err=sys.stderr, environ=os.environ)
