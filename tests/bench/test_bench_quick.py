"""`python -m bench --quick` end to end on the local stack (with a round trip through the delay proxy): it runs,
prints the table, and writes the JSON/PNG; `--workers 3` runs three devhost processes on one task hub.

Only the shape of the result is checked, never a timing: speed depends on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bench import floor
from localrun.process import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

QuickRun = tuple[subprocess.CompletedProcess[str], Path]
OUT_ROOT = REPO_ROOT / ".state" / "test-bench"  # not pytest's tmp: a concurrent session may reap that


@pytest.fixture(scope="module")
def quick_run() -> Iterator[QuickRun]:
    out = OUT_ROOT / str(os.getpid())
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "bench", "--quick", "--images", "200", "--baseline-sample", "50", "--rtt-ms", "5",
            "--out", str(out)]
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-4000:]
    yield done, out
    shutil.rmtree(out, ignore_errors=True)


def _numbers(section: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert isinstance(section[key], int | float) and section[key] >= 0, (key, section[key])


@pytest.mark.timeout(300)
def test_quick_run_writes_json_png_and_prints_the_table(quick_run: QuickRun) -> None:
    done, out = quick_run
    latest = json.loads((out / "latest.json").read_text())
    stamped = list(out.glob("bench-*.json"))
    assert len(stamped) == 1 and json.loads(stamped[0].read_text()) == latest
    with Image.open(out / "latest.png") as png:
        assert png.format == "PNG" and png.width > 100 and png.height > 100

    assert latest["schemaVersion"] == 2
    assert latest["config"]["images"] == 200 and latest["config"]["projects"] == 1
    assert (latest["config"]["rttMs"], latest["config"]["scriptRttMs"]) == (5.0, 5.0)
    assert (latest["config"]["workers"], latest["config"]["concurrent"]) == (1, 1)
    assert latest["config"]["baselineSample"] == 50
    assert latest["dataset"]["uniqueImages"] == 200
    assert {s["set"] for s in latest["dataset"]["imageSets"]} >= {"workspace"}

    for name in ("export", "delete"):
        section = latest[name]
        ours = section["ours"]
        assert ours["status"] == "Completed"
        _numbers(ours, "wallSeconds", "imagesPerSecond")
        _numbers(ours["emulator"], "calls", "throttled")
        assert ours["functions"] and ours["trainingCalls"]
        network = ours["network"]
        assert network["rttMs"] == 5.0
        rate = network["trainingCallsPerSecond"]
        assert rate["calls"] > 0 and rate["windows"] >= 1 and rate["maxSliding"] > 0 and rate["max"] >= rate["median"]
        # every Training API call went through the shared budget's record in the (proxied) export account
        assert 0 < network["storageRequests"]["rateBudget"] <= network["storageRequests"]["total"]
        assert latest["trainingCallsPerSecond"][name] == rate
        assert section["baseline"]["network"]["trainingCallsPerSecond"]["calls"] > 0
        base = section["baseline"]
        _numbers(base, "wallSeconds", "measuredSeconds", "images", "imagesPerSecond")
        assert base["notes"] and "throttled" in base["emulator"]
        _numbers(section["floor"], "wallSeconds", "listingCalls", "listingSeconds")
        assert section["floor"]["definition"]
        assert set(section["ratios"]) == {"oursOverBaseline", "baselineOverOurs", "oursOverFloor"}
        assert all(isinstance(v, float) for v in section["ratios"].values())

    assert latest["export"]["ours"]["images"] == 200  # every image, iteration-only ones included
    assert latest["export"]["baseline"]["extrapolated"] is True
    assert latest["export"]["baseline"]["sampledImages"] == 50
    assert latest["export"]["floor"]["copy"]["blobs"] == 200
    copy = latest["export"]["floor"]["copy"]
    assert [(t["method"], t["workers"]) for t in copy["tried"]] == [
        ("put_block_from_url", 16), ("put_block_from_url", 64), ("read_then_put", 16), ("read_then_put", 64)]
    assert copy["method"] in floor.BYTE_COPIES and copy["cloneSeconds"] > 0
    assert latest["delete"]["ours"]["leftBehind"] == 0
    assert latest["delete"]["baseline"]["leftInWorkspace"] == 0

    strategies = latest["copyStrategies"]
    assert {row["strategy"] for row in strategies} >= {"copy_from_url", "get_then_copy_from_url", "get_then_put"}
    assert all(row["blobs"] == 20 and row["seconds"] > 0 for row in strategies)

    memory = latest["memory"]
    assert [m["images"] for m in memory["runs"]] == [200] and memory["ratio"] is None
    _numbers(memory["runs"][0], "peakRssMb", "startRssMb")
    assert set(latest["throttledDuringOurs"]) == {"export", "delete"}
    assert [t["name"] for t in latest["targets"]] and all(t["met"] in (True, False, None) for t in latest["targets"])
    names = {t["name"] for t in latest["targets"]}
    assert {"Training calls in any 1 s window (ours)", "export: ours / floor", "delete: ours / floor"} <= names

    for text in ("ours/floor", "export", "delete", "extrapolated", "target"):
        assert text in done.stdout


@pytest.mark.timeout(300)
def test_three_workers_share_the_hub_and_one_rate_budget() -> None:
    """`--workers 3`: three devhost processes on one --state-dir run two concurrent requests on one resource (each
    submitted to its own worker, polled from every worker in turn), and the emulator still sees at most the
    configured rate + 1 Training calls in any 1 s, with no 429 (one budget for every process)."""
    out = OUT_ROOT / f"{os.getpid()}-workers"
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "bench", "--quick", "--projects", "2", "--images", "60", "--rtt-ms", "5",
            "--workers", "3", "--concurrent", "2", "--skip-baseline", "--diagnose-sample", "0", "--out", str(out)]
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
    try:
        assert done.returncode == 0, done.stderr[-4000:]
        latest = json.loads((out / "latest.json").read_text())
    finally:
        shutil.rmtree(out, ignore_errors=True)

    assert (latest["config"]["workers"], latest["config"]["concurrent"]) == (3, 2)
    for name in ("export", "delete"):
        ours = latest[name]["ours"]
        assert ours["status"] == "Completed" and len(ours["requests"]) == 2
        assert all(r["status"] == "Completed" for r in ours["requests"])
        spread = ours["invocationsByWorker"]
        assert sorted(spread) == ["devhost-1.log", "devhost-2.log", "devhost.log"]  # three processes logged
        assert sum(spread.values()) > 0
        rate = ours["network"]["trainingCallsPerSecond"]
        assert rate["calls"] > 0 and rate["maxSliding"] <= latest["config"]["tps"] + 1, rate
        assert ours["emulator"]["throttled"] == 0
    assert latest["export"]["ours"]["images"] == 120
    assert latest["delete"]["ours"]["leftBehind"] == 0
    assert "work per devhost worker" in done.stdout
