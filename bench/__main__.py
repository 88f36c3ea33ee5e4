"""`python -m bench`: the benchmark on the local stack, with a round trip on every request (see bench/README.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import matrix, report
from bench.run import Options, log, run

# --quick: a smoke run; options given explicitly still win
QUICK = {"projects": 1, "images": 500, "memory_images": 0, "baseline_sample": 100, "diagnose_sample": 20}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--projects", type=int)
    parser.add_argument("--images", type=int, help="images per project (default 10000)")
    parser.add_argument("--tps", type=float, default=10, help="the emulator's (and the app's) Training API rate")
    parser.add_argument("--latency-ms", type=int, default=30, help="added by the emulator to every API call")
    parser.add_argument("--rtt-ms", type=float, default=0.0,
                        help="round trip added to every storage and Training API request (delay proxy), for ours, "
                             "the SDK script and the floor")
    parser.add_argument("--script-rtt-ms", type=float,
                        help="the SDK script's own round trip (default: --rtt-ms); e.g. 30 against ours at 2: a laptop "
                             "far from the region against the function in it")
    parser.add_argument("--workers", type=int, default=1,
                        help="devhost processes on one --state-dir, as scaled-out instances of one task hub")
    parser.add_argument("--concurrent", type=int, default=1,
                        help="our requests at once on the one resource, each on its own projects (--projects >= N)")
    parser.add_argument("--matrix", action="store_true",
                        help="every --rtts x --workers-list cell, the honest deployment case and 2 concurrent "
                             "requests, into matrix-<stamp>.json and matrix-latest.png")
    parser.add_argument("--rtts", default="0,5,20", help="--matrix: round trips (ms)")
    parser.add_argument("--workers-list", default="1,3", help="--matrix: devhost worker counts")
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
    return parser


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = build_parser()
    args = parser.parse_args(argv)
    defaults = {"projects": 1, "images": 10_000, "memory_images": 1_000, "baseline_sample": None,
                "diagnose_sample": 1_000}
    if args.quick:
        defaults.update(QUICK)
    if args.matrix and args.diagnose_sample is None:
        defaults["diagnose_sample"] = 0  # per cell, the copy strategies add minutes and say nothing new
    given = {k: getattr(args, k) for k in defaults if getattr(args, k) is not None}
    if args.rtt_ms < 0 or (args.script_rtt_ms or 0) < 0:
        parser.error("--rtt-ms and --script-rtt-ms must be >= 0")
    if args.workers < 1 or args.concurrent < 1:
        parser.error("--workers and --concurrent must be at least 1")
    values = {
        **defaults, **given, "tps": args.tps, "latency_ms": args.latency_ms, "rtt_ms": args.rtt_ms,
        "script_rtt_ms": args.script_rtt_ms, "workers": args.workers, "concurrent": args.concurrent,
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
    if values["concurrent"] > values["projects"]:
        parser.error(f"--concurrent {values['concurrent']} needs --projects {values['concurrent']} or more "
                     "(each request deletes its own projects)")
    return Options(**values)


def parse_plan(argv: Sequence[str] | None = None) -> matrix.Plan | None:
    """The --matrix plan (round trips x worker counts), or None for a single run."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.matrix:
        return None
    try:
        rtts = tuple(float(x) for x in args.rtts.split(",") if x.strip())
        workers = tuple(int(x) for x in args.workers_list.split(",") if x.strip())
    except ValueError:
        parser.error("--rtts and --workers-list must be comma-separated numbers")
    if not rtts or not workers or min(rtts) < 0 or min(workers) < 1:
        parser.error("--rtts needs round trips >= 0 and --workers-list counts >= 1")
    return matrix.Plan(rtts=rtts, workers=workers)


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
    plan = parse_plan(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if plan is not None:
        document = matrix.run_matrix(options, plan)
        paths = matrix.write(document, options.out, stamp)
        print(matrix.table(document))
        log("wrote " + ", ".join(str(p) for p in paths))
        return 0
    result = run(options)
    paths = report.write(result, options.out, stamp)
    print(report.table(result))
    log("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
