"""`python -m emulator --port PORT [--seed NAME] ...`: serve the Training API emulator until stopped."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from emulator.app import create_app
from emulator.blobs import BlobError
from emulator.config import DEFAULT_STORAGE, DEFAULT_TRAINING_KEY, Config
from emulator.realism import Realism, UnknownIds
from emulator.runtime import RUNTIME
from emulator.seed import SeedError, plans_for


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", default="demo", help="demo | empty | synthetic:projects=P,images=N")
    parser.add_argument("--training-key", default=DEFAULT_TRAINING_KEY)
    parser.add_argument("--storage-connection-string", default=DEFAULT_STORAGE)
    parser.add_argument("--container", default="customvision-emulator", help="blob container for image bytes")
    parser.add_argument("--tps", type=float, default=10.0, help="Training API calls per second (0: unlimited)")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of calls answered 429/500/503/drop")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--sas-ttl-minutes", type=int, default=24 * 60)
    parser.add_argument("--realism", choices=("on", "off"), default="on",
                        help="answer as the real service does (docs/real-service.md); off: unit tests only")
    parser.add_argument("--relative-uri-share", type=float, default=Realism.relative_uri_share)
    parser.add_argument("--delete-lag-seconds", type=float, default=Realism.delete_lag_seconds)
    parser.add_argument("--unknown-image-ids", choices=[u.value for u in UnknownIds],
                        default=Realism.unknown_image_ids.value, help="GetImagesByIds with ids the set lacks")
    args = parser.parse_args(argv)
    try:
        plans_for(args.seed)
    except SeedError as exc:
        parser.error(str(exc))
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be between 0 and 1")
    if not 0 <= args.relative_uri_share <= 1 or args.delete_lag_seconds < 0:
        parser.error("--relative-uri-share must be between 0 and 1 and --delete-lag-seconds not negative")
    return Config(
        host=args.host,
        port=args.port,
        seed=args.seed,
        training_key=args.training_key,
        storage_connection_string=args.storage_connection_string,
        container=args.container,
        tps=args.tps,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        sas_ttl_minutes=args.sas_ttl_minutes,
        realism=Realism.off() if args.realism == "off" else Realism(
            relative_uri_share=args.relative_uri_share,
            delete_lag_seconds=args.delete_lag_seconds,
            unknown_image_ids=UnknownIds(args.unknown_image_ids),
        ),
    )


def main(argv: Sequence[str] | None = None) -> None:
    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    rt = app[RUNTIME]

    def listening(_: str) -> None:
        print(
            f"emulator listening on http://{config.host}:{config.port} "
            f"(seed {config.seed}: seeding in the background; GET /_emulator/ready answers 200 when done)",
            flush=True,
        )

    # 256 comma-separated ids make a ~10 KB request line; allow what Azure's front end allows.
    try:
        web.run_app(
            app,
            host=config.host,
            port=config.port,
            print=listening,
            access_log=None,
            max_line_size=65536,
            max_field_size=65536,
        )
    except (BlobError, OSError) as exc:  # storage unreachable, port taken: one clear line, no traceback
        print(f"emulator: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    if rt.failure:  # seeding failed after the server started listening
        print(f"emulator: error: {rt.failure}", file=sys.stderr, flush=True)
        sys.exit(2)


if __name__ == "__main__":
    sys.exit(main())
