"""`python -m devhost [--app-dir DIR] [--port 7071] [--function-key KEY] [--master-key KEY] [--state-dir DIR]`.

Several processes given the same --state-dir (each its own --port) share its task hub, as scaled-out instances.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path

from aiohttp import web

from devhost import keys
from devhost.app import create_app, describe_routes
from devhost.appstate import Settings
from devhost.config import ConfigError, apply_local_settings, load_host_config
from devhost.http_triggers import RouteError
from devhost.indexer import AppLoadError, load
from devhost.invoker import InvocationFilter
from devhost.store import DEFAULT_LEASE_SECONDS
from devhost.timers import TimerScheduleError, schedule_of

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(function)s %(invocation_id)s] %(message)s"
LEASE_ENV = "DEVHOST_LEASE_SECONDS"  # the --lease-seconds default, for tests and scripts that start devhost


def lease_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a number of seconds above 0")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(), help="folder with function_app.py (default: .)")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--function-key", default=None, help="key for function-level routes (default: generated)")
    parser.add_argument("--master-key", default=None,
                        help="the master key: admin API, Durable webhooks and every route (default: generated)")
    parser.add_argument("--state-dir", type=Path, default=None, help="default: <app-dir>/.state/devhost")
    parser.add_argument("--rpc-port", type=int, default=0, help="loopback port of the durable client RPC API")
    parser.add_argument("--lease-seconds", type=lease_seconds,
                        default=os.environ.get(LEASE_ENV) or str(DEFAULT_LEASE_SECONDS),  # argparse applies `type`
                        help="how long a claim on an orchestration, activity or timer lasts unless renewed: the time "
                             f"before another devhost on the state dir takes over a killed one's work (default: "
                             f"${LEASE_ENV} or {DEFAULT_LEASE_SECONDS:g})")
    return parser.parse_args(argv)


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(InvocationFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def key_lines(host_keys: keys.HostKeys, generated: list[str], *, given: dict[str, str | None],
              stored_in: Path) -> list[str]:
    """One line per key: a generated key is printed once (it is kept in the state dir), others are named only."""
    lines = []
    for name, label in (("function", "Function key"), ("system", "System key (durabletask webhooks)"),
                        ("master", "Master key")):
        if name in generated:
            lines.append(f"{label} (generated, stored in {stored_in}): {getattr(host_keys, name)}")
        else:
            lines.append(f"{label}: {'given on the command line' if given.get(name) else f'stored in {stored_in}'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    log = logging.getLogger("devhost")
    app_dir = args.app_dir.resolve()
    state_dir = (args.state_dir or app_dir / ".state" / "devhost").resolve()
    try:
        apply_local_settings(app_dir)
        os.environ["SIGNING_KEY_DIR"] = os.environ.get("SIGNING_KEY_DIR") or str(state_dir / "signing-keys")
        host = load_host_config(app_dir)
        os.chdir(app_dir)
        index = load(app_dir)
        for info in index.of_kind("timer"):
            schedule_of(info)
        host_keys, generated = keys.load_or_create(state_dir, function_key=args.function_key,
                                                   master_key=args.master_key)
        settings = Settings(app_dir=app_dir, state_dir=state_dir, port=args.port, keys=host_keys, host=host,
                            rpc_port=args.rpc_port or free_port(), lease_seconds=args.lease_seconds)
        app = create_app(settings, index)
    except (AppLoadError, ConfigError, RouteError, TimerScheduleError, ValueError) as exc:
        print(f"devhost: error: {exc}", file=sys.stderr)
        return 1
    print(f"devhost: serving {app_dir} on {settings.base_url} (state: {state_dir})")
    print(f"Worker {settings.worker} on task hub {settings.store_path} (leases of {settings.lease_seconds:g} s; "
          "every devhost on this state dir shares it)")
    print("Functions:")
    for line in describe_routes(app):
        print(line)
    for line in key_lines(host_keys, generated, given={"function": args.function_key, "master": args.master_key},
                          stored_in=state_dir / keys.KEY_FILE):
        print(line)
    sys.stdout.flush()
    log.info("host started")
    try:
        web.run_app(app, host=settings.bind, port=settings.port, print=None, access_log=None)
    except OSError as exc:
        print(f"devhost: error: cannot listen on {settings.bind}:{settings.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
