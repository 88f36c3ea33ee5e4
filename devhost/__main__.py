"""`python -m devhost [--app-dir DIR] [--port 7071] [--function-key KEY] [--state-dir DIR]`."""

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
from devhost.config import ConfigError, apply_local_settings, load_host_config, lock_state_dir
from devhost.http_triggers import RouteError
from devhost.indexer import AppLoadError, load
from devhost.invoker import InvocationFilter
from devhost.timers import ScheduleError, schedule_of

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(function)s %(invocation_id)s] %(message)s"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(), help="folder with function_app.py (default: .)")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--function-key", default=None, help="key for function/admin routes (default: generated)")
    parser.add_argument("--state-dir", type=Path, default=None, help="default: <app-dir>/.state/devhost")
    parser.add_argument("--rpc-port", type=int, default=0, help="loopback port of the durable client RPC API")
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
        lock_state_dir(state_dir)
        key, generated = keys.load_or_create(state_dir, args.function_key)
        settings = Settings(app_dir=app_dir, state_dir=state_dir, port=args.port, function_key=key, host=host,
                            rpc_port=args.rpc_port or free_port())
        app = create_app(settings, index)
    except (AppLoadError, ConfigError, RouteError, ScheduleError) as exc:
        print(f"devhost: error: {exc}", file=sys.stderr)
        return 1
    print(f"devhost: serving {app_dir} on {settings.base_url} (state: {state_dir})")
    print("Functions:")
    for line in describe_routes(app):
        print(line)
    if generated:
        print(f"Function key (generated, stored in {state_dir / keys.KEY_FILE}): {key}")
    elif not args.function_key:
        print(f"Function key: stored in {state_dir / keys.KEY_FILE}")
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
