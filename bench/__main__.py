"""`python -m bench`: issue #7's benchmark on the local stack (see bench/README.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.run import Options, log, run

# --quick: a smoke run; options given explicitly still win
QUICK = {"projects": 1, "images": 500, "memory_images": 0, "baseline_sample": 100, "diagnose_sample": 20}


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--projects", type=int)
    parser.add_argument("--images", type=int, help="images per project (default 10000)")
    parser.add_argument("--tps", type=float, default=10, help="the emulator's (and the app's) Training API rate")
    parser.add_argument("--latency-ms", type=int, default=30, help="added by the emulator to every API call")
    parser.add_argument("--baseline-sample", type=int, metavar="K",
                        help="baseline export: copy only K images and extrapolate linearly (printed as such)")
    parser.add_argument("--skip-baseline", action="store_true", help="no SDK baseline runs")
    parser.add_argument("--memory-images", type=int,
                        help="reference size (images per project) for the devhost memory ratio (default 1000); 0: skip")
    parser.add_argument("--categories", default="images", help="comma-separated categories for our requests")
    parser.add_argument("--copy-workers", default="16,64",
                        help="comma-separated worker counts for the copy floor (the best counts) and diagnostics")
    parser.add_argument("--diagnose-sample", type=int,
                        help="blobs per copy-strategy measurement (default 1000; 0: skip)")
    parser.add_argument("--py-spy", action="store_true",
                        help="sample devhost with py-spy during our export (pip install py-spy first)")
    parser.add_argument("--timeout", type=float, default=1_800, help="seconds per request / stack start")
    parser.add_argument("--delete-timeout", type=float,
                        help="seconds for our delete (default: --timeout); past it the request is cancelled and "
                             "its time extrapolated from the share deleted, marked as such")
    parser.add_argument("--out", type=Path, default=Options.out, help="results folder")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 x 500 images, baseline sampled at 100, no memory reference "
                             "(options given explicitly still win)")
    args = parser.parse_args(argv)
    defaults = {"projects": 1, "images": 10_000, "memory_images": 1_000, "baseline_sample": None,
                "diagnose_sample": 1_000}
    if args.quick:
        defaults.update(QUICK)
    given = {k: getattr(args, k) for k in defaults if getattr(args, k) is not None}
    values = {
        **defaults, **given, "tps": args.tps, "latency_ms": args.latency_ms,
        "skip_baseline": args.skip_baseline, "categories": tuple(c for c in args.categories.split(",") if c),
        "copy_workers": _counts(parser, args.copy_workers), "timeout": args.timeout,
        "delete_timeout": args.delete_timeout,
        "py_spy": args.py_spy,
        "out": args.out,
    }
    if args.py_spy:
        from bench.profile import py_spy

        if py_spy() is None:
            parser.error("--py-spy needs py-spy: pip install py-spy")
    if values["projects"] < 1 or values["images"] < 1:
        parser.error("--projects and --images must be at least 1")
    return Options(**values)


def _counts(parser: argparse.ArgumentParser, text: str) -> tuple[int, ...]:
    try:
        counts = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        parser.error(f"--copy-workers: not a list of numbers: {text!r}")
    if not counts or min(counts) < 1:
        parser.error("--copy-workers needs at least one count >= 1")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = run(options)
    paths = report.write(result, options.out, stamp)
    print(report.table(result))
    log("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
