"""The benchmark's pure parts: floors, devhost log parsing, ratios/targets, the table and the chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bench import floor, matrix, netem, ours, report, timeline, windows
from bench.__main__ import parse_args, parse_plan

STATE = {"projects": [{
    "id": "p1", "workspaceImageCount": 9800,
    "images": [{"id": str(n)} for n in range(10_000)],
    "iterations": [{"id": "it1", "imageIds": ["x"] * 5000}, {"id": "it2", "imageIds": ["x"] * 9800}],
}]}


def test_listing_floor_counts_pages_of_every_image_set() -> None:
    sets = floor.image_sets(STATE)
    assert [(s["set"], s["count"]) for s in sets] == [("workspace", 9800), ("it1", 5000), ("it2", 9800)]
    assert floor.listing_calls(sets) == 39 + 20 + 39
    copy = floor.CopyFloor(seconds=2.0, blobs=10_000, bytes=1, workers=64, method="read_then_put",
                           blobsPerSecond=5000.0, tried=[{"method": "read_then_put", "workers": 64, "seconds": 2.0}],
                           cloneSeconds=0.5)
    assert floor.export_floor(sets, 10, copy)["wallSeconds"] == 9.8  # the copies overlap the paced calls
    assert floor.export_floor(sets, 10, copy, artifacts=150)["wallSeconds"] == (98 + 150) / 10
    assert floor.export_floor(sets, 1000, copy)["wallSeconds"] == 2.0  # the copy floor when calls are cheap


def test_every_original_behind_a_relative_uri_costs_one_getartifact() -> None:
    forms = ["relative", "originalRelative", "absolute", "absolute"]
    state = {"projects": [{"images": [{"id": str(n), "uriForm": forms[n % 4]} for n in range(100)]}]}
    assert floor.artifact_calls(state) == 50


def test_delete_floor_lists_every_set_deletes_each_image_once_counts_each_set_then_waits_out_the_lag() -> None:
    calls = (39 + 20 + 39) + 40 + 3  # every set's pages (iteration-only images hide there), 10,000 ids, 3 counts
    assert floor.delete_floor(STATE, 10)["wallSeconds"] == calls / 10
    assert floor.delete_floor(STATE, 10, lag_seconds=3.0)["wallSeconds"] == calls / 10 + 3.0
    assert floor.delete_floor({"projects": []}, 10, lag_seconds=3.0)["wallSeconds"] == 0.0


_D = "2026-11-22 15:30:{} INFO devhost [{} {}] "
_H = "2026-11-22 15:30:{} INFO azure.core.pipeline.policies.http_logging_policy [{} {}] "
_API = "http://127.0.0.1:1/customvision/v3.3/training/projects/p1/images"
_INV = {"data_request": "86ba98e0-d3e6-4e7b-8dd2-2246372aa83f",
        "run_delete_step": "7fc60464-6045-4771-aeeb-47e6e798ca05",
        "plan_request": "56bf22f3-02b0-44b7-b1db-ee26f0a4e926"}


def _line(kind: str, seconds: str, fn: str, text: str) -> str:
    return (_D if kind == "d" else _H).format(seconds, fn, _INV[fn]) + text


LOG = "\n".join([
    _line("d", "49,682", "data_request", "Executing 'Functions.data_request' (Reason='instance r1')"),
    _line("d", "49,685", "data_request", "Executed 'Functions.data_request' (Succeeded, Duration=2ms)"),
    _line("d", "50,000", "run_delete_step", "Executing 'Functions.run_delete_step' (Reason='instance r1--p1 task 1')"),
    _line("h", "50,100", "run_delete_step", f"Request URL: '{_API}?orderBy=Oldest&take=256&skip=0'"),
    _line("h", "50,200", "run_delete_step", "Response status: 200"),
    _line("h", "50,300", "run_delete_step", f"Request URL: '{_API}?imageIds=REDACTED&allIterations=true'"),
    _line("h", "52,300", "run_delete_step", "Response status: 202"),
    _line("d", "53,000", "run_delete_step", "Executed 'Functions.run_delete_step' (Succeeded, Duration=3000ms)"),
    _line("d", "53,000", "plan_request", "Executing 'Functions.plan_request' (Reason='instance other task 0')"),
    _line("d", "53,045", "plan_request", "Executed 'Functions.plan_request' (Succeeded, Duration=45ms)"),
]) + "\n"


def test_timeline_pairs_invocations_of_one_request(tmp_path: Path) -> None:
    path = tmp_path / "devhost.log"
    path.write_text(LOG)
    functions = timeline.function_timeline(path, "r1")
    assert list(functions) == ["data_request", "run_delete_step"]
    assert functions["run_delete_step"]["calls"] == 1 and functions["run_delete_step"]["totalSeconds"] == 3.0
    assert functions["run_delete_step"]["lastEnd"] == 3.318
    calls = timeline.training_call_durations(path, "r1")
    assert calls["GetImages"]["calls"] == 1 and calls["DeleteImages"]["totalSeconds"] == 2.0
    assert timeline.function_timeline(tmp_path / "missing.log", "r1") == {}


def _result() -> dict[str, Any]:
    def ours(seconds: float, throttled: int) -> dict[str, Any]:
        rate = {"calls": 100, "windows": 10, "median": 10.0, "max": 10, "maxSliding": 11}
        return {"wallSeconds": seconds, "imagesPerSecond": 100.0, "emulator": {"calls": 100, "throttled": throttled},
                "network": {"rttMs": 5.0, "trainingCallsPerSecond": rate,
                            "storageRequests": {"total": 300, "rateBudget": 100}}}

    base = {"wallSeconds": 300.0, "imagesPerSecond": 33.0, "extrapolated": True, "sampledImages": 500,
            "measuredSeconds": 20.0, "emulator": {"calls": 40, "throttled": 3}, "notes": ["sequential"]}
    export_floor = {"wallSeconds": 20.0, "listingCalls": 98, "listingSeconds": 9.8, "definition": "d",
                    "copy": {"seconds": 10.2, "workers": 64}}
    result: dict[str, Any] = {
        "config": {"projects": 1, "images": 10_000, "tps": 10, "latencyMs": 30, "categories": ["images"],
                   "rttMs": 5.0, "scriptRttMs": 5.0, "workers": 1, "concurrent": 1},
        "dataset": {"uniqueImages": 10_000, "workspaceImages": 9800, "iterationOnlyImages": 200,
                    "imageSets": [{}, {}, {}], "listingCalls": 98},
        "export": {"ours": ours(25.0, 1), "baseline": base, "floor": export_floor},
        "delete": {"ours": ours(13.0, 0), "baseline": None,
                   "floor": {"wallSeconds": 8.0, "listingCalls": 80, "listingSeconds": 8.0, "definition": "d",
                             "copy": None}},
        "memory": {"runs": [{"images": 1000, "peakRssMb": 100.0, "startRssMb": 70.0, "vmHwmMb": 101.0},
                            {"images": 10000, "peakRssMb": 150.0, "startRssMb": 70.0, "vmHwmMb": 151.0}],
                   "ratio": 1.5},
    }
    for name in ("export", "delete"):
        result[name]["ratios"] = report.ratios(result[name])
    result["targets"] = report.targets(result)
    return result


def test_ratios_and_targets() -> None:
    result = _result()
    assert result["export"]["ratios"] == {"oursOverBaseline": 0.083, "baselineOverOurs": 12.0, "oursOverFloor": 1.25}
    assert result["delete"]["ratios"]["oursOverBaseline"] is None
    met = {t["name"]: t["met"] for t in result["targets"]}
    assert met == {
        "export: ours / floor": True,  # 1.25 <= 1.3
        "delete: ours / floor": False,  # 1.625
        "Training calls in any 1 s window (ours)": True,  # 11 <= 10 + 1
        "429s during ours / our Training API calls": True,
        "devhost peak memory: N / reference N": True,
        "export: baseline / ours (speed-up)": None,  # reported, no target (issue 17)
        "delete: baseline / ours (speed-up)": None,
    }
    limits = {t["name"]: t["limit"] for t in result["targets"]}
    assert limits["Training calls in any 1 s window (ours)"] == 11 and limits["export: ours / floor"] == 1.3


def test_table_and_files(tmp_path: Path) -> None:
    result = _result()
    text = report.table(result)
    assert "300.0*" in text and "* extrapolated" in text and "ratio 1.50" in text and "MISSED" in text
    assert "rtt=5ms" in text and "10/10/11" in text and "(no target)" in text
    paths = report.write(result, tmp_path, "20260101T000000Z")
    assert json.loads(paths[0].read_text()) == json.loads(paths[1].read_text())
    with Image.open(paths[2]) as png:
        assert png.format == "PNG"


def test_quick_defaults_yield_to_explicit_options() -> None:
    quick = parse_args(["--quick"])
    assert (quick.images, quick.memory_images, quick.baseline_sample, quick.diagnose_sample) == (500, 0, 100, 20)
    assert parse_args(["--quick", "--images", "200", "--baseline-sample", "7"]).baseline_sample == 7
    full = parse_args([])
    assert (full.projects, full.images, full.tps, full.latency_ms, full.memory_images) == (1, 10_000, 10, 30, 1000)
    assert full.copy_workers == (16, 64) and parse_args(["--copy-workers", "64,8,64"]).copy_workers == (8, 64)
    assert (full.rtt_ms, full.script_rtt, full.workers, full.concurrent) == (0.0, 0.0, 1, 1)
    honest = parse_args(["--rtt-ms", "2", "--script-rtt-ms", "30"])
    assert (honest.rtt_ms, honest.script_rtt) == (2.0, 30.0)


@pytest.mark.parametrize(("argv", "message"), [
    (["--concurrent", "2"], "--concurrent 2 needs --projects 2"),
    (["--workers", "0"], "--workers and --concurrent must be at least 1"),
    (["--rtt-ms", "-1"], "--rtt-ms and --script-rtt-ms must be >= 0"),
    (["--matrix", "--rtts", "a,b"], "--rtts and --workers-list must be comma-separated numbers"),
])
def test_bad_options_are_refused_with_the_reason(argv: list[str], message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
        parse_plan(argv)
    assert message in capsys.readouterr().err


def test_the_matrix_plan_covers_every_round_trip_and_worker_count_and_the_two_special_cases() -> None:
    plan = parse_plan(["--matrix", "--quick"])
    assert plan is not None and plan.rtts == (0.0, 5.0, 20.0) and plan.workers == (1, 3)
    assert parse_args(["--matrix"]).diagnose_sample == 0 and parse_plan([]) is None
    planned = matrix.cells(parse_args(["--quick"]), plan)
    grid = [(o.rtt_ms, o.workers) for kind, o in planned if kind == "grid"]
    assert grid == [(0.0, 1), (5.0, 1), (20.0, 1), (0.0, 3), (5.0, 3), (20.0, 3)]
    [honest] = [o for kind, o in planned if kind == "honest"]
    assert (honest.rtt_ms, honest.script_rtt, honest.workers) == (2.0, 30.0, 1)
    concurrent = [o for kind, o in planned if kind == "concurrent"]
    assert [(o.concurrent, o.workers, o.rtt_ms, o.projects >= 2) for o in concurrent] == [
        (2, 1, 5.0, True), (2, 3, 5.0, True)]


def test_the_matrix_document_table_and_chart(tmp_path: Path) -> None:
    result = _result()
    plan = matrix.Plan(rtts=(0.0, 20.0), workers=(1, 3))
    base = parse_args(["--quick"])
    rows = [matrix.summary("grid", base, result, None),
            matrix.summary("grid", base, None, "devhost did not start (exited with 1); see devhost-2.log")]
    document = {"config": {"projects": 1, "images": 500, "tps": 10, "latencyMs": 30}, "cells": rows,
                "plan": {"rtts": list(plan.rtts)}}
    row = rows[0]
    assert row["export"]["oursOverFloor"] == 1.25 and row["export"]["trainingCallsPerSecond"]["maxSliding"] == 11
    assert row["delete"]["scriptSeconds"] is None and row["devhostPeakRssMb"] == 150.0
    text = matrix.table(document)
    assert "skipped: devhost did not start" in text and "10/10/11" in text
    paths = matrix.write(document, tmp_path, "20260101T000000Z")
    assert json.loads(paths[0].read_text()) == json.loads(paths[1].read_text())
    with Image.open(paths[2]) as png:
        assert png.format == "PNG"


def test_calls_per_second_windows() -> None:
    times = [100.0 + 0.1 * i for i in range(25)] + [103.05, 103.06]  # 10/s, then a burst
    rate = windows.call_rate(times, 100.0, 104.0)
    assert (rate["calls"], rate["windows"], rate["max"]) == (27, 4, 10)
    assert rate["maxSliding"] == 10 and windows.max_in_any_second([0.0, 0.5, 0.99, 1.0]) == 3
    assert windows.call_rate([], 0.0, 0.2) == {"calls": 0, "windows": 1, "median": 0.0, "max": 0, "maxSliding": 0}


def test_concurrent_requests_get_disjoint_projects() -> None:
    assert ours.split(["a", "b", "c"], 2) == [["a", "c"], ["b"]]
    with pytest.raises(ValueError, match="at least 2 projects"):
        ours.split(["a"], 2)


@pytest.mark.parametrize("cut", [1, 7, 40, 61, 200])
def test_the_proxy_finds_every_request_head_whatever_the_framing(cut: int) -> None:
    stream = (b"GET /customvision/v3.3/training/projects HTTP/1.1\r\nHost: x\r\n\r\n"
              b"PUT /devstoreaccount1/c/b HTTP/1.1\r\nContent-Length: 16\r\n\r\nGET / HTTP/1.1\r\n"
              b"POST /q HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\n\r\n"
              b"DELETE /customvision/v3.3/training/projects/p/images?imageIds=a HTTP/1.1\r\n\r\n")
    scanner = netem.RequestScanner()
    found = []
    for start in range(0, len(stream), cut):  # however the bytes arrive
        found += scanner.feed(stream[start:start + cut])
    assert found == [("GET", "/customvision/v3.3/training/projects"), ("PUT", "/devstoreaccount1/c/b"),
                     ("POST", "/q"), ("DELETE", "/customvision/v3.3/training/projects/p/images?imageIds=a")]


def test_profile_summary_shares_by_category(tmp_path: Path) -> None:
    from bench.profile import summarize

    raw = tmp_path / "prof.raw"
    raw.write_text(
        "main (a.py:1);Logger.info (logging/__init__.py:1489);Handler.acquire (logging/__init__.py:927) 3\n"
        "main (a.py:1);HTTPResponse.begin (http/client.py:1);SocketIO.readinto (socket.py:706) 6\n"
        "main (a.py:1);_digest (dsr/export/copier.py:1);openssl_sha256 (hashlib) 1\n"
    )
    summary = summarize(raw)
    assert summary["samples"] == 10
    assert summary["categoriesPercent"] == {"waiting on a socket (Azurite / emulator)": 60.0,
                                            "logging (lock wait + handlers)": 30.0, "hashing": 10.0}
    assert summarize(tmp_path / "missing.raw")["samples"] == 0
