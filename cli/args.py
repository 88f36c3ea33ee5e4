"""The command line's arguments, and the POST body they make."""

from __future__ import annotations

import argparse
from typing import Any

import cli
from cli import subject
from cli.progress import POLL_INTERVAL
from dsr.categories import Category

PROG = "python -m dsr"  # also installed as `dsr` (pyproject.toml's [project.scripts])


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """`export`, `delete`, `status` and `cancel`, each with the connection options."""
    doc = str(cli.__doc__)
    parser = argparse.ArgumentParser(
        prog=prog,
        description=doc.split("\n")[0].split(": ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(doc.split("\n")[2:]),
    )
    connection, request = _connection_options(), _request_options()
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


def _connection_options() -> argparse.ArgumentParser:
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
    return connection


def _request_options() -> argparse.ArgumentParser:
    request = argparse.ArgumentParser(add_help=False)
    request.add_argument("--resource", default=None, help="alias of a configured resource (default: default)")
    request.add_argument("--projects", nargs="+", metavar="ID", default=None, help="project ids (default: all)")
    request.add_argument(  # the list is for the help text only: the API validates
        "--categories", nargs="+", metavar="CAT", default=None, help=f"default: all of {', '.join(Category)}"
    )
    request.add_argument("--request-id", default=None, help="idempotency key, 1-64 of [A-Za-z0-9_-]")
    request.add_argument("--no-wait", action="store_true", help="submit and exit; follow later with `status`")
    subject.add_arguments(request)
    return request


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
    body.update(subject.body_fields(args))
    if args.command == "delete":
        if args.dry_run:
            body["dryRun"] = True
        if args.confirm is not None:
            body["confirm"] = args.confirm
    return body
