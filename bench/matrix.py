"""`python -m bench --matrix`: the benchmark at several round trips and worker counts, in one document.

Cells: every round trip R x worker count N (ours, the floor and the SDK script, all at R); the honest deployment
case (the script at 30 ms, a laptop far from the region, against ours at 2 ms, the function in it); and 2
concurrent requests on one resource at each N (issue 17's target scenario). Each cell is a full `python -m bench`
run on a fresh stack (bench/run.py); a cell that cannot run (N > 1 before devhost scale-out) is recorded with the
reason and the matrix goes on.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import report
from bench.run import Options, environment, log, run

HONEST = (2.0, 30.0)  # ours at 2 ms (in the region), the script at 30 ms (a laptop far away)
CONCURRENT = 2


@dataclass(frozen=True)
class Plan:
    rtts: tuple[float, ...] = (0.0, 5.0, 20.0)
    workers: tuple[int, ...] = (1, 3)

    @property
    def concurrent_rtt(self) -> float:
        """The round trip of the concurrent-requests cells: 5 ms when measured, else the smallest."""
        return 5.0 if 5.0 in self.rtts else min(self.rtts)


def cells(base: Options, plan: Plan) -> list[tuple[str, Options]]:
    """(kind, options) of every cell, in the order they run."""
    out = [("grid", replace(base, rtt_ms=r, script_rtt_ms=None, workers=n, concurrent=1))
           for n in plan.workers for r in plan.rtts]
    out.append(("honest", replace(base, rtt_ms=HONEST[0], script_rtt_ms=HONEST[1], workers=1, concurrent=1)))
    projects = max(base.projects, CONCURRENT)
    out += [("concurrent", replace(base, rtt_ms=plan.concurrent_rtt, script_rtt_ms=None, workers=n,
                                   concurrent=CONCURRENT, projects=projects)) for n in plan.workers]
    return out


def summary(kind: str, options: Options, result: dict[str, Any] | None, skipped: str | None) -> dict[str, Any]:
    """One row of the matrix: what the issue asks to report, and the full run document under `result`."""
    row: dict[str, Any] = {"kind": kind, "rttMs": options.rtt_ms, "scriptRttMs": options.script_rtt,
                           "workers": options.workers, "concurrent": options.concurrent,
                           "projects": options.projects, "images": options.images}
    if result is None:
        return {**row, "skipped": skipped}
    for name in ("export", "delete"):
        section = result[name]
        base = section.get("baseline") or {}
        row[name] = {
            "oursSeconds": report.ours_seconds(section["ours"]),
            "floorSeconds": section["floor"]["wallSeconds"],
            "scriptSeconds": base.get("wallSeconds"),
            "scriptExtrapolated": base.get("extrapolated"),
            "oursOverFloor": section["ratios"]["oursOverFloor"],
            "scriptOverOurs": section["ratios"]["baselineOverOurs"],
            "trainingCallsPerSecond": (section["ours"].get("network") or {}).get("trainingCallsPerSecond"),
            "throttled": section["ours"]["emulator"]["throttled"],
            "calls": section["ours"]["emulator"]["calls"],
        }
    runs = result["memory"]["runs"]
    row["devhostPeakRssMb"] = runs[-1].get("peakRssMb") if runs else None
    row["targets"] = result["targets"]
    row["result"] = result
    return row


def run_matrix(base: Options, plan: Plan) -> dict[str, Any]:
    rows = []
    for kind, options in cells(base, plan):
        label = f"{kind}: rtt {options.rtt_ms:g} ms (script {options.script_rtt:g} ms), {options.workers} worker(s), " \
                f"{options.concurrent} request(s)"
        log(f"matrix cell {label}")
        try:
            rows.append(summary(kind, options, run(options), None))
        except RuntimeError as exc:  # a stack that did not start: recorded, and the other cells still run
            log(f"  skipped: {exc}")
            rows.append(summary(kind, options, None, str(exc)))
    return {"schemaVersion": report.SCHEMA_VERSION, "kind": "matrix",
            "command": "python -m bench " + " ".join(sys.argv[1:]),
            "plan": {"rtts": list(plan.rtts), "workers": list(plan.workers), "honest": list(HONEST),
                     "concurrent": CONCURRENT, "concurrentRttMs": plan.concurrent_rtt},
            "config": {"projects": base.projects, "images": base.images, "tps": base.tps,
                       "latencyMs": base.latency_ms, "baselineSample": base.baseline_sample},
            "cells": rows, "environment": environment()}


def _rate(rate: dict[str, Any]) -> str:
    return f"{rate['median']:g}/{rate['max']}/{rate['maxSliding']}" if rate else "-"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(document: dict[str, Any]) -> str:
    cfg = document["config"]
    lines = [f"bench matrix: {cfg['projects']} x {cfg['images']} images, {cfg['tps']:g} TPS, "
             f"{cfg['latencyMs']} ms service latency",
             f"{'cell':34}{'op':8}{'ours s':>9}{'floor s':>9}{'script s':>10}{'/floor':>8}{'script/':>9}"
             f"{'calls/s med/max/any':>21}{'429':>5}"]
    for row in document["cells"]:
        label = (f"{row['kind']} R={row['rttMs']:g}"
                 + (f"/script {row['scriptRttMs']:g}" if row["scriptRttMs"] != row["rttMs"] else "")
                 + f" N={row['workers']}" + (f" x{row['concurrent']}" if row["concurrent"] > 1 else ""))
        if row.get("skipped"):
            lines.append(f"{label:34}skipped: {row['skipped'][:110]}")
            continue
        for name in ("export", "delete"):
            cell = row[name]
            rate = cell["trainingCallsPerSecond"] or {}
            mark = "*" if cell["scriptExtrapolated"] else ""
            lines.append(
                f"{label if name == 'export' else '':34}{name:8}{_num(cell['oursSeconds'], 1):>9}"
                f"{_num(cell['floorSeconds'], 1):>9}{_num(cell['scriptSeconds'], 1) + mark:>10}"
                f"{_num(cell['oursOverFloor']):>8}{_num(cell['scriptOverOurs']):>9}"
                f"{_rate(rate):>21}"
                f"{cell['throttled']:>5}")
        lines.append(f"{'':34}devhost peak RSS {_num(row['devhostPeakRssMb'], 1)} MB")
    lines.append("/floor: ours / floor at the same R; script/: script / ours (>1: ours faster); * script extrapolated "
                 "from a sample; calls/s: Training API calls the emulator saw per 1 s window (median, max of fixed "
                 "windows, max in any 1 s)")
    return "\n".join(lines)


def write(document: dict[str, Any], out: Path, stamp: str) -> list[Path]:
    """matrix-<stamp>.json, matrix-latest.json and matrix-latest.png under `out`."""
    return report.write(document, out, stamp, kind="matrix")
