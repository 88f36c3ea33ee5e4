"""One benchmark run on the local stack: ours, the SDK baseline and the floor, for export and then delete, with
`rtt_ms` of round trip on every storage and Training API request (bench/stack.py, bench/netem.py)."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

from bench import diagnose, floor, ours, profile, report, timeline
from bench.baseline import Baseline
from bench.stack import BenchStack
from bench.windows import call_rate
from dsr.runtime_status import RuntimeStatus
from emulator.realism import Realism  # the bench starts the emulator with its defaults (delete lag included)
from localrun.azurite import ACCOUNT_KEY, Azurite
from localrun.process import REPO_ROOT

STATE_ROOT = REPO_ROOT / ".state" / "bench"
EXPORT_CONTAINER = "bench-exports"
BASELINE_CONTAINER = "bench-baseline"


@dataclass(frozen=True)
class Options:
    projects: int = 1
    images: int = 10_000
    tps: float = 10
    latency_ms: int = 30
    rtt_ms: float = 0.0  # round trip added to every storage and Training API request (ours, the floor)
    script_rtt_ms: float | None = None  # the SDK script's round trip when it differs (the honest deployment case)
    workers: int = 1  # devhost processes on one state dir (scale-out)
    concurrent: int = 1  # our requests at once on the one resource, each on its own projects
    baseline_sample: int | None = None  # download+upload only this many images and extrapolate
    skip_baseline: bool = False
    memory_images: int = 1_000  # reference size for the memory ratio (0: no reference run)
    categories: tuple[str, ...] = ("images",)
    copy_workers: tuple[int, ...] = (16, 64)  # the copy floor is the best of these
    diagnose_sample: int = 1_000  # blobs per copy-strategy measurement (0: none)
    py_spy: bool = False  # sample devhost with py-spy during our export at the main size
    timeout: float = 1_800  # per request / per stack start
    delete_timeout: float | None = None  # our delete (None: `timeout`); past it, the time is extrapolated
    out: Path = field(default=REPO_ROOT / "bench" / "results")

    @property
    def seed(self) -> str:
        return f"synthetic:projects={self.projects},images={self.images}"

    @property
    def script_rtt(self) -> float:
        return self.rtt_ms if self.script_rtt_ms is None else self.script_rtt_ms


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@contextmanager
def local_stack(options: Options, azurite: Azurite, name: str, images: int) -> Iterator[BenchStack]:
    """Emulator seeded with P x `images` at the options' TPS and latency, the delay proxy, and `workers` fresh
    devhost processes, on shared Azurite; the round trip is `rtt_ms` once seeded.

    The app is told the same rate (`client_tps`) an operator would configure for the resource.
    """
    stack = BenchStack(STATE_ROOT / f"{os.getpid()}-{name}",
                       seed=f"synthetic:projects={options.projects},images={images}", tps=options.tps,
                       latency_ms=options.latency_ms, container=EXPORT_CONTAINER, workers=options.workers,
                       azurite=azurite)
    started = time.perf_counter()
    try:
        stack.start(timeout=options.timeout)
        stack.set_rtt(options.rtt_ms)
        log(f"stack {name} up in {time.perf_counter() - started:.1f} s (seed {stack.seed}, {options.workers} devhost "
            f"worker(s), rtt {options.rtt_ms:g} ms, logs {stack.log_dir})")
        yield stack
    finally:
        stack.stop()


@contextmanager
def rtt(stack: BenchStack, ms: float) -> Iterator[None]:
    """Run a step at another round trip (seeding at 0, the script at its own), then go back."""
    before = stack.netem.rtt_ms if stack.netem else 0.0
    stack.set_rtt(ms)
    try:
        yield
    finally:
        stack.set_rtt(before)


def dataset(state: dict[str, Any]) -> dict[str, Any]:
    sets = floor.image_sets(state)
    unique = sum(len(p["images"]) for p in state["projects"])
    workspace = sum(p["workspaceImageCount"] for p in state["projects"])
    return {"projects": len(state["projects"]), "uniqueImages": unique, "workspaceImages": workspace,
            "iterationOnlyImages": unique - workspace, "imageSets": sets, "listingCalls": floor.listing_calls(sets),
            "artifactCalls": floor.artifact_calls(state),
            "imageBytes": sum(i.get("size") or 0 for p in state["projects"] for i in p["images"])}


def exported_files(container: ContainerClient, request_id: str) -> list[tuple[str, int]]:
    """(blob name, size) of every image file our export wrote, from its manifest."""
    import json

    manifest = json.loads(container.download_blob(f"{request_id}/manifest.json").readall())
    return [(f"{request_id}/{f['path']}", int(f["size"])) for f in manifest["files"]
            if f["path"].startswith("projects/") and "/images/" in f["path"]]


def images_left(state: dict[str, Any]) -> int:
    """Images the emulator still holds anywhere (workspace or an iteration snapshot)."""
    return sum(len(p["images"]) for p in state["projects"])


def workspace_left(state: dict[str, Any]) -> int:
    return sum(p["workspaceImageCount"] for p in state["projects"])


def explain(stack: BenchStack, run: ours.OursRun) -> None:
    """Add where the time went, from devhost's log(s): per function, and per Training API operation."""
    logs = sorted(stack.log_dir.glob("devhost*.log"))
    ids = [r["requestId"] for r in run.get("requests", [])] or [run["requestId"]]  # type: ignore[typeddict-item]
    run["functions"] = {i: timeline.function_timeline(logs, i) for i in ids} if len(ids) > 1 else \
        timeline.function_timeline(logs, ids[0])  # type: ignore[typeddict-unknown-key]
    run["trainingCalls"] = timeline.training_call_durations(logs, ids[0])  # type: ignore[typeddict-unknown-key]
    run["devhostLogLines"] = sum(_count_lines(path) for path in logs)  # type: ignore[typeddict-unknown-key]
    run["invocationsByWorker"] = timeline.invocations_by_log(logs, ids)  # type: ignore[typeddict-unknown-key]


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return 0


def memory_entry(images: int, run: ours.OursRun) -> dict[str, Any]:
    peak = run["memory"] or {}
    return {"images": images, "wallSeconds": run["wallSeconds"], **peak}


def run(options: Options) -> dict[str, Any]:
    """The whole benchmark; returns the result document (also written under `options.out`)."""
    started_at = datetime.now(UTC)
    categories = list(options.categories)
    state_root = STATE_ROOT / f"{os.getpid()}-azurite"
    azurite = Azurite(state_root, log_path=STATE_ROOT / f"{os.getpid()}-azurite.log")
    azurite.start(timeout=options.timeout)
    try:
        memory_runs: list[dict[str, Any]] = []
        if options.memory_images and options.memory_images != options.images:
            with local_stack(options, azurite, "memory-ref", options.memory_images) as stack:
                log(f"export (ours) at the reference size {options.projects}x{options.memory_images}")
                ref = ours.export(stack, categories, timeout=options.timeout, concurrent=options.concurrent,
                                  projects=_project_ids(stack))
                _check_ours(ref)
                explain(stack, ref)
                memory_runs.append(memory_entry(options.projects * options.memory_images, ref))
                log(f"  {ref['wallSeconds']:.1f} s, peak RSS {ref['memory'] and ref['memory']['peakRssMb']} MB")
        with local_stack(options, azurite, "main", options.images) as stack:
            result = _main_runs(options, stack, categories, memory_runs)
    finally:
        azurite.stop()
    result["startedAt"] = started_at.isoformat(timespec="seconds")
    result["finishedAt"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def _check_ours(run: ours.OursRun) -> None:
    if run["status"] != RuntimeStatus.COMPLETED:
        raise RuntimeError(f"our {run['operation']} ended {run['status']}: {run['categories']}")


def _project_ids(stack: BenchStack) -> list[str]:
    assert stack.emulator is not None
    return [p["id"] for p in stack.emulator.state()["projects"]]


def _main_runs(options: Options, stack: BenchStack, categories: list[str],
               memory_runs: list[dict[str, Any]]) -> dict[str, Any]:
    assert stack.emulator is not None
    state = stack.emulator.state()
    data = dataset(state)
    unique = data["uniqueImages"]
    connection = stack.connection_string  # through the delay proxy, like every client of the bench
    exports = ContainerClient.from_connection_string(connection, EXPORT_CONTAINER)
    project_ids = [p["id"] for p in state["projects"]]

    log(f"export (ours): {unique} images in {len(data['imageSets'])} image sets"
        + (f", {options.concurrent} requests at once" if options.concurrent > 1 else ""))
    raw_profile = stack.state_dir / "export-py-spy.raw"
    with profile.Profiler(stack.devhost.pid, raw_profile) if options.py_spy else nullcontext():
        export_ours = ours.export(stack, categories, timeout=options.timeout, concurrent=options.concurrent,
                                  projects=project_ids)
    explain(stack, export_ours)
    if options.py_spy:
        export_ours["profile"] = profile.summarize(raw_profile)  # type: ignore[typeddict-unknown-key]
    export_ours["imagesPerSecond"] = round(unique / export_ours["wallSeconds"], 1)
    log(f"  {export_ours['status']} in {export_ours['wallSeconds']:.1f} s, "
        f"{export_ours['emulator']['throttled']} x 429, {export_ours['images']} images exported, "
        f"Training calls/s max {export_ours['network']['trainingCallsPerSecond']['maxSliding']}")  # type: ignore[typeddict-item]
    _check_ours(export_ours)
    memory_runs.append(memory_entry(options.projects * options.images, export_ours))

    request_ids = [r["requestId"] for r in export_ours.get("requests", [])] or [export_ours["requestId"]]  # type: ignore[typeddict-item]
    files = [f for request_id in request_ids for f in exported_files(exports, request_id)]
    workers = list(options.copy_workers)
    log(f"copy floor: {len(files)} blobs, best of {workers} workers")
    floor_container = floor.pooled_container(connection, "bench-floor", pool_size=max(workers))
    copy = floor.measure_copy(exports, files, floor_container, ACCOUNT_KEY, workers=workers)
    log(f"  {copy['seconds']:.1f} s ({copy['blobsPerSecond']:.0f} blobs/s, {copy['method']} x{copy['workers']}; "
        + ", ".join(f"{t['method']} x{t['workers']:.0f}: {t['seconds']:.1f} s" for t in copy["tried"])
        + f"; Azurite's record clone {copy['cloneSeconds']:.1f} s)")
    export_floor = floor.export_floor(data["imageSets"], options.tps, copy, data.get("artifactCalls", 0))
    strategies = None
    if options.diagnose_sample:
        sample = [name for name, _ in files[: options.diagnose_sample]]
        log(f"copy strategies on {len(sample)} blobs")
        strategies = diagnose.compare(exports, sample, floor_container, ACCOUNT_KEY,
                                      workers=workers)
        for row in strategies:
            log(f"  {row['strategy']:32} {row['workers']:>3} workers {row['blobsPerSecond']:>7.1f} blobs/s")
    _drop_container(floor_container)

    export_base = None
    if not options.skip_baseline:
        log("export (SDK baseline)" + (f", sampling {options.baseline_sample} images" if options.baseline_sample
                                       else "") + f", rtt {options.script_rtt:g} ms")
        with rtt(stack, options.script_rtt):
            export_base = _baseline(stack, lambda b: b.export(project_ids, sample=options.baseline_sample))
        log(f"  {export_base['wallSeconds']:.1f} s{' (extrapolated)' if export_base['extrapolated'] else ''}")
        _drop_container(ContainerClient.from_connection_string(connection, BASELINE_CONTAINER))
    log("delete (ours)")
    delete_ours = ours.delete(stack, categories, timeout=options.delete_timeout or options.timeout,
                              concurrent=options.concurrent, projects=project_ids)
    explain(stack, delete_ours)
    delete_ours["imagesPerSecond"] = round(unique / delete_ours["wallSeconds"], 1)
    left = images_left(stack.emulator.state())
    delete_ours["leftBehind"] = left
    if delete_ours["status"] == ours.TIMED_OUT and unique > left:
        # Extrapolate from the share deleted so far, marked as such.
        delete_ours["extrapolatedWallSeconds"] = round(delete_ours["wallSeconds"] * unique / (unique - left), 1)
        delete_ours["imagesPerSecond"] = round(unique / delete_ours["extrapolatedWallSeconds"], 1)
    log(f"  {delete_ours['status']} in {delete_ours['wallSeconds']:.1f} s, "
        f"{delete_ours['emulator']['throttled']} x 429, {left} images left")

    delete_base = None
    if not options.skip_baseline:
        log("reset the emulator to the same seed for the baseline delete")
        with rtt(stack, 0):  # the emulator rewrites its images through the proxy: not part of any measurement
            stack.emulator.reset(stack.seed)
        log(f"delete (SDK baseline), rtt {options.script_rtt:g} ms")
        with rtt(stack, options.script_rtt):
            delete_base = _baseline(stack, lambda b: b.delete(project_ids))
        after = stack.emulator.state()
        delete_base["leftBehind"] = images_left(after)
        delete_base["leftInWorkspace"] = workspace_left(after)
        log(f"  {delete_base['wallSeconds']:.1f} s, {delete_base['leftBehind']} images left "
            f"({delete_base['leftInWorkspace']} in the workspace)")

    # Dropped only now: Azurite reclaims a dropped container's blobs in the background, which would slow
    # whatever is measured next on the same process.
    _drop_container(exports)

    delete_floor = floor.delete_floor(state, options.tps, Realism().delete_lag_seconds)
    result: dict[str, Any] = {
        "schemaVersion": report.SCHEMA_VERSION,
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "config": {"projects": options.projects, "images": options.images, "tps": options.tps,
                   "latencyMs": options.latency_ms, "rttMs": options.rtt_ms, "scriptRttMs": options.script_rtt,
                   "workers": options.workers, "concurrent": options.concurrent,
                   "baselineSample": options.baseline_sample,
                   "skipBaseline": options.skip_baseline, "memoryImages": options.memory_images,
                   "categories": categories, "copyWorkers": workers,
                   "diagnoseSample": options.diagnose_sample, "pySpy": options.py_spy},
        "dataset": data,
        "export": {"ours": export_ours, "baseline": export_base, "floor": export_floor},
        "delete": {"ours": delete_ours, "baseline": delete_base, "floor": delete_floor},
        "copyStrategies": strategies,
        "environment": environment(),
    }
    for name in ("export", "delete"):
        result[name]["ratios"] = report.ratios(result[name])
    ratio = None
    if len(memory_runs) == 2 and memory_runs[0].get("peakRssMb"):
        ratio = round(memory_runs[1]["peakRssMb"] / memory_runs[0]["peakRssMb"], 3)
    result["memory"] = {"measure": "peak over 0.1 s samples of the summed VmRSS of devhost and its children "
                                   "while the export ran (a fresh devhost per size)",
                        "runs": memory_runs, "ratio": ratio}
    result["throttledDuringOurs"] = {"export": export_ours["emulator"]["throttled"],
                                     "delete": delete_ours["emulator"]["throttled"]}
    result["trainingCallsPerSecond"] = {  # as the emulator saw them (requests released by the delay proxy)
        "export": export_ours["network"]["trainingCallsPerSecond"],  # type: ignore[typeddict-item]
        "delete": delete_ours["network"]["trainingCallsPerSecond"],  # type: ignore[typeddict-item]
        "baselineExport": (export_base or {}).get("network", {}).get("trainingCallsPerSecond"),
        "baselineDelete": (delete_base or {}).get("network", {}).get("trainingCallsPerSecond"),
    }
    result["targets"] = report.targets(result)
    return result


def _drop_container(container: ContainerClient) -> None:
    """Delete a container the bench filled (Azurite gets slower as its one blob store grows)."""
    with suppress(ResourceNotFoundError):
        container.delete_container()


def _baseline(stack: BenchStack, work: Any) -> dict[str, Any]:
    assert stack.emulator is not None
    before = stack.emulator.stats()
    script = Baseline(stack.training_endpoint, stack.training_key, stack.connection_string, BASELINE_CONTAINER)
    started_at = time.time()
    outcome = dict(work(script))
    ended_at = time.time()
    outcome["emulator"] = ours.stats_delta(before, stack.emulator.stats())
    outcome["network"] = {"rttMs": stack.netem.rtt_ms if stack.netem else 0.0,
                          "trainingCallsPerSecond": call_rate(stack.training_requests(started_at, ended_at),
                                                              started_at, ended_at),
                          "storageRequests": stack.storage_requests(started_at, ended_at)}
    return outcome


def environment() -> dict[str, Any]:
    """The machine and the app version measured (numbers depend on both)."""
    import json
    import subprocess

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    try:
        durable = json.loads((REPO_ROOT / "host.json").read_text())["extensions"]["durableTask"]
    except (OSError, KeyError, ValueError):
        durable = {}
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "loadAverage": [round(x, 2) for x in load] if load else None,
            "gitHead": head.stdout.strip() or None,
            "hostJsonDurableTask": {k: v for k, v in durable.items() if k.startswith("maxConcurrent")}}


def options_dict(options: Options) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
