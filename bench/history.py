"""`python -m bench.history`: how many events each orchestration's history holds, and what replaying it costs.

    python -m bench.history --state-dir .state/devhost [--request ID]   # a devhost task hub, after a run
    python -m bench.history --run --projects 1 --images 200000          # seed, export, delete, then report both
    python -m bench.history --model --sets 21 --chunks 209              # stub activities: bounded against unbounded

Replay goes through the real azure-functions-durable SDK exactly as devhost invokes an orchestrator (the history
JSON in, actions out). devhost keeps only the current generation of an instance that continued as new (Azure too
starts the next execution's history afresh), so a loop sub-orchestration's earlier generations are estimated from
the tasks its state counts (`orchestrators/calls.py`) at the events per task of its last generation.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localrun.process import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results"
ORCHESTRATOR_STARTED = 12  # devhost.replay_protocol.EventType
NO_GC = Path(__file__).with_name("azurite_no_gc.cjs")  # Azurite's 10-minute blob GC stalls at 300,000 blobs
EVENTS_PER_GENERATION_EDGE = 4  # ExecutionStarted, its episode's two events, and the event that ends a generation


@dataclass
class Instance:
    """One orchestration instance of the hub, as stored."""

    instance_id: str
    name: str
    status: str
    input: str | None
    output: str | None
    parent: str | None
    events: int


def decode(text: str | None) -> Any:
    """An input or output as devhost stores it (the host's JSON of the SDK's JSON text): the value."""
    value = None if text is None else json.loads(text)
    return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value


def open_hub(state_dir: Path) -> sqlite3.Connection:
    """devhost's SQLite task hub in `state_dir`, read-only (a running devhost may still write it)."""
    hubs = sorted(Path(state_dir).glob("*.sqlite3"))
    if not hubs:
        raise SystemExit(f"no devhost task hub (*.sqlite3) in {state_dir}")
    db = sqlite3.connect(f"file:{hubs[0]}?mode=ro", uri=True, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


def instances(db: sqlite3.Connection, request_id: str | None = None) -> list[Instance]:
    """Every instance (or a request's: its id and `{id}:...` sub-orchestrations) with its stored event count."""
    rows = db.execute(
        "SELECT i.instance_id, i.name, i.status, i.input, i.output, i.parent_instance_id, "
        "(SELECT COUNT(*) FROM history h WHERE h.instance_id = i.instance_id) AS events FROM instances i").fetchall()
    found = [Instance(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6])) for r in rows]
    if request_id is not None:
        found = [i for i in found if i.instance_id == request_id or i.instance_id.startswith(f"{request_id}:")]
    return found


def history(db: sqlite3.Connection, instance_id: str) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in db.execute(
        "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))]


def all_generations(instance: Instance) -> dict[str, Any]:
    """Generation count and estimated events over every generation of a loop sub-orchestration (else as stored)."""
    started, ended = decode(instance.input), decode(instance.output)
    if not isinstance(started, dict) or "generation" not in started:
        return {"generation": None, "estimatedEvents": instance.events}
    generation = int(started["generation"])
    if not isinstance(ended, dict) or "tasks" not in ended:  # still running or failed: what is stored
        return {"generation": generation, "estimatedEvents": instance.events}
    last = max(1, ended["tasks"] - started.get("tasks", 0))
    earlier = max(0, started.get("tasks", 0) - started.get("inlineTasks", 0))
    estimate = instance.events + round(earlier * instance.events / last) + EVENTS_PER_GENERATION_EDGE * (generation - 1)
    return {"generation": generation, "loopTasks": ended["tasks"] - started.get("inlineTasks", 0),
            "estimatedEvents": estimate}


class Replayer:
    """Runs an app's orchestrator functions on stored histories through the SDK, as devhost's engine does."""

    def __init__(self, app_dir: Path = REPO_ROOT, index: Any = None) -> None:
        from devhost import indexer

        self.index = index if index is not None else indexer.load(Path(app_dir))

    def replay(self, instance: Instance, events: list[dict[str, Any]]) -> float:
        """Seconds of one replay of `events` (the orchestrator called with the context JSON, actions decoded)."""
        from azure.functions import _durable_functions as df_wire

        from devhost import replay_protocol as protocol

        info = self.index.get(instance.name, "orchestrator")
        if info is None:
            raise SystemExit(f"{instance.name} is not an orchestrator of the app")
        body = protocol.build_context(instance_id=instance.instance_id, history=events, input_json=instance.input,
                                      parent_instance_id=instance.parent)
        started = time.perf_counter()
        try:
            text = info.func(df_wire.OrchestrationContext(body))
            protocol.parse_result(text if isinstance(text, str) else json.dumps(text))
        except Exception as exc:  # a replay that ends in the orchestrator's failure still costs the replay
            protocol.parse_failure(str(exc))
        return time.perf_counter() - started

    def cost(self, instance: Instance, events: list[dict[str, Any]], *, repeats: int = 5,
             samples: int = 60) -> dict[str, Any]:
        """The full history's replay (best of `repeats`), and every episode's replay over the instance's life (the
        host replays the history up to each episode), summed from up to `samples` evenly spaced episodes."""
        full = min(self.replay(instance, events) for _ in range(repeats))
        starts = [n for n, e in enumerate(events) if e["EventType"] == ORCHESTRATOR_STARTED]
        ends = [*starts[1:], len(events)]
        step = max(1, len(ends) // samples)
        picked = ends[::step]
        sampled = [self.replay(instance, events[:end]) for end in picked]
        lifetime = statistics.fmean(sampled) * len(ends) if sampled else 0.0
        return {"events": len(events), "episodes": len(starts), "replaySeconds": round(full, 4),
                "microsecondsPerEvent": round(full / max(1, len(events)) * 1e6, 1),
                "lifetimeReplaySeconds": round(lifetime, 3), "episodesSampled": len(picked)}


def report(db: sqlite3.Connection, replayer: Replayer | None, request_id: str | None = None, *,
           repeats: int = 5) -> dict[str, Any]:
    """Events per instance, per orchestrator and in all; the largest history and its replay cost."""
    found = instances(db, request_id)
    if not found:
        raise SystemExit(f"no instance{' of ' + request_id if request_id else ''} in the hub")
    rows = [{"instanceId": i.instance_id, "name": i.name, "status": i.status, "events": i.events,
             **all_generations(i)} for i in found]
    by_name: dict[str, Any] = {}
    for name in sorted({i.name for i in found}):
        mine = [r for r in rows if r["name"] == name]
        by_name[name] = {"instances": len(mine), "maxEvents": max(r["events"] for r in mine),
                         "meanEvents": round(statistics.fmean(r["events"] for r in mine), 1),
                         "storedEvents": sum(r["events"] for r in mine),
                         "estimatedEvents": sum(r["estimatedEvents"] for r in mine),
                         "maxGeneration": max((r["generation"] or 1) for r in mine)}
    largest = max(found, key=lambda i: i.events)
    events = history(db, largest.instance_id)
    result: dict[str, Any] = {
        "requestId": request_id,
        "instances": len(found),
        "storedEvents": sum(r["events"] for r in rows),
        "estimatedEventsAllGenerations": sum(r["estimatedEvents"] for r in rows),
        "eventTypes": dict(Counter(_type_name(e["EventType"]) for e in events)),
        "byOrchestrator": by_name,
        "largest": {"instanceId": largest.instance_id, "name": largest.name, "events": largest.events},
        "perInstance": sorted(rows, key=lambda r: -r["events"]),
    }
    if replayer is not None:
        result["largest"].update(replayer.cost(largest, events, repeats=repeats))
    return result


def _type_name(kind: int) -> str:
    from devhost.replay_protocol import EventType

    return EventType(kind).name


# --- a measured run on the local stack --------------------------------------------------------------------------


def measure(*, projects: int, images: int, tps: float, latency_ms: int, timeout: float,
            operations: Sequence[str]) -> dict[str, Any]:
    """Seed `synthetic:projects=P,images=N`, run our export then our delete (all categories) on devhost, and report
    each request's histories; the machine's load before and after."""
    from bench import ours
    from bench.run import STATE_ROOT, environment, log
    from bench.stack import BenchStack
    from dsr.categories import Category
    from localrun.azurite import Azurite

    document: dict[str, Any] = {"kind": "history", "seed": f"synthetic:projects={projects},images={images}",
                                "tps": tps, "latencyMs": latency_ms, "startedAt": _now(),
                                "environmentBefore": environment(), "runs": {}}
    categories = [str(c) for c in Category if c != Category.ACCOUNT]
    root = STATE_ROOT / f"{os.getpid()}-history"
    node_options = os.environ.get("NODE_OPTIONS")
    os.environ["NODE_OPTIONS"] = f"{node_options or ''} --require {NO_GC}".strip()  # taken at construction; node only
    try:
        azurite = Azurite(root / "azurite", log_path=root / "azurite.log", in_memory=True)  # disk mode stalls at scale
        azurite.start(timeout=timeout)
    finally:
        if node_options is None:
            del os.environ["NODE_OPTIONS"]
        else:
            os.environ["NODE_OPTIONS"] = node_options
    try:
        stack = BenchStack(root / "stack", seed=document["seed"], tps=tps, latency_ms=latency_ms,
                           container="history-exports", azurite=azurite)
        started = time.perf_counter()
        with stack.start(timeout=timeout):
            document["stackStartSeconds"] = round(time.perf_counter() - started, 1)
            assert stack.emulator is not None
            document["emulatorReady"] = stack.emulator.admin("ready")
            log(f"stack up in {document['stackStartSeconds']} s: {document['emulatorReady']}")
            replayer = Replayer()
            for operation in operations:
                log(f"{operation} (ours), all categories")
                run = (ours.export if operation == "export" else ours.delete)(stack, categories, timeout=timeout)
                log(f"  {run['status']} in {run['wallSeconds']:.1f} s, {run['emulator']['calls']} Training calls")
                if operation == "export":  # every image of the seed (workspace and iteration-only) exported
                    run["allImagesExported"] = run["images"] == document["emulatorReady"]["images"]
                hub = open_hub(stack.state_dir / "devhost")
                try:
                    histories = report(hub, replayer, run["requestId"])
                finally:
                    hub.close()
                log(f"  largest history {histories['largest']}")
                document["runs"][operation] = {"run": run, "histories": histories}
    finally:
        azurite.stop()
    document["environmentAfter"] = environment()
    document["finishedAt"] = _now()
    return document


# --- the model: stub activities, the same loop with and without bounds ------------------------------------------


def model(*, sets: int, chunks: int, repeats: int = 3) -> dict[str, Any]:
    """One project of `sets` image sets x `chunks` chunks through data_request with stub activities, once with the
    history bounds and once with the loop kept in export_project's own history (the design before them)."""
    from orchestrators import calls

    bounded = _model_run(sets, chunks, repeats)
    saved = calls.LOOP_INLINE_TASKS
    calls.LOOP_INLINE_TASKS = 10**9  # everything inline: one history per project, as before issue 17
    try:
        unbounded = _model_run(sets, chunks, repeats)
    finally:
        calls.LOOP_INLINE_TASKS = saved
    return {"kind": "history-model", "sets": sets, "chunks": chunks, "bounded": bounded, "unbounded": unbounded,
            "at": _now()}


def _model_run(sets: int, chunks: int, repeats: int) -> dict[str, Any]:
    import asyncio

    import azure.durable_functions as df

    from devhost.harness import LocalDurableHost
    from devhost.store import Store
    from orchestrators import data_request, export_project

    app = df.DFApp()
    for module in (data_request, export_project):
        app.register_functions(module.bp)
    app.register_functions(_stub_activities(sets, chunks))
    generations: list[int] = []
    commit = Store.commit_episode

    def spy(self: Store, episode: Any, outcome: Any) -> bool:
        if outcome.continued:  # as the test does: the generation's events when it continues
            generations.append(len(episode.history) + 1 + len(episode.new_events) + 2)
        return commit(self, episode, outcome)

    async def go(host: LocalDurableHost) -> None:
        request = {"operation": "export", "resource": "default", "projects": None, "categories": ["images"],
                   "requestId": "model", "dryRun": False, "confirm": None}
        await host.start_new("data_request", {"request": request, "receivedAt": _now()}, instance_id="model")
        await host.wait("model", timeout=3600)

    async def main() -> dict[str, Any]:
        async with LocalDurableHost(app, max_activities=8) as host:
            started = time.perf_counter()
            await go(host)
            wall = time.perf_counter() - started
            return {"wallSeconds": round(wall, 1),
                    **report(host.store.db, Replayer(index=host.app), "model", repeats=repeats)}

    Store.commit_episode = spy  # type: ignore[method-assign]
    try:
        result = asyncio.run(main())
    finally:
        Store.commit_episode = commit  # type: ignore[method-assign]
    result["continuedGenerations"] = {"count": len(generations), "maxEvents": max(generations, default=0)}
    result.pop("perInstance")
    return result


def _stub_activities(sets: int, chunks: int) -> Any:
    import azure.durable_functions as df

    bp = df.Blueprint()
    image_sets = [{"key": "workspace" if n == 0 else f"it-{n}", "iterationId": None if n == 0 else f"it-{n}",
                   "count": chunks * 480, "chunks": chunks, "chunkSize": 480} for n in range(sets)]
    answers = {
        "plan_request": lambda p: {"status": "complete", "count": 1, "error": None, "projects": ["p1"], "missing": []},
        "plan_images": lambda p: {"status": "complete", "count": sets * chunks * 480, "error": None,
                                  "sets": image_sets},
        "export_image_chunk": lambda p: {"status": "complete", "count": 480, "error": None},
        "finalize_images": lambda p: {"status": "complete", "count": sets * chunks * 480, "error": None},
        "write_manifest": lambda p: {"path": "manifest.json", "files": 1, "sha256": "0" * 64},
    }
    def register(name: str, answer: Any) -> None:
        def run(payload: dict[str, Any]) -> Any:
            return answer(payload)

        run.__name__ = name
        bp.activity_trigger(input_name="payload")(run)

    for name, answer in answers.items():
        register(name, answer)
    return bp


# --- command line -----------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write(document: dict[str, Any], out: Path, prefix: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"{prefix}-{stamp}.json"
    text = json.dumps(document, indent=2) + "\n"
    path.write_text(text)
    (out / f"{prefix}-latest.json").write_text(text)
    return path


def summary(histories: dict[str, Any]) -> str:
    """A few lines: events per orchestrator, the largest history and its replay."""
    lines = [f"{'orchestrator':34} {'instances':>9} {'max events':>10} {'mean':>8} {'all generations':>16}"]
    for name, row in histories["byOrchestrator"].items():
        lines.append(f"{name:34} {row['instances']:>9} {row['maxEvents']:>10} {row['meanEvents']:>8} "
                     f"{row['estimatedEvents']:>16}")
    largest = histories["largest"]
    replayed = ""
    if "replaySeconds" in largest:
        replayed = (f"; one replay {largest['replaySeconds'] * 1000:.1f} ms ({largest['microsecondsPerEvent']} "
                    f"us/event), {largest['episodes']} episodes, {largest['lifetimeReplaySeconds']} s replaying "
                    "over its life")
    lines.append(f"largest: {largest['instanceId']} ({largest['name']}), {largest['events']} events{replayed}")
    lines.append(f"total: {histories['instances']} instances, {histories['storedEvents']} events stored, "
                 f"~{histories['estimatedEventsAllGenerations']} over all generations")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--state-dir", type=Path, help="a devhost state dir: report on its task hub")
    mode.add_argument("--run", action="store_true", help="seed, export and delete on the local stack, then report")
    mode.add_argument("--model", action="store_true", help="stub activities, with and without the history bounds")
    parser.add_argument("--request", help="with --state-dir: only this request's instances")
    parser.add_argument("--projects", type=int, default=1)
    parser.add_argument("--images", type=int, default=200_000, help="images per project (--run)")
    parser.add_argument("--tps", type=float, default=10)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--operations", default="export,delete")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--sets", type=int, default=21, help="--model: image sets (S0: workspace + 20 iterations)")
    parser.add_argument("--chunks", type=int, default=209, help="--model: chunks per set (100,000 images / 480)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.state_dir:
        db = open_hub(args.state_dir)
        histories = report(db, Replayer(), args.request, repeats=args.repeats)
        print(summary(histories))
        print(json.dumps(histories["largest"], indent=2))
        return 0
    if args.model:
        document = model(sets=args.sets, chunks=args.chunks, repeats=args.repeats)
        path = write(document, args.out, "history-model")
        for label in ("bounded", "unbounded"):
            print(f"-- {label} ({document[label]['wallSeconds']} s)\n{summary(document[label])}")
        print(f"written to {path}")
        return 0
    operations = [o.strip() for o in args.operations.split(",") if o.strip()]
    document = measure(projects=args.projects, images=args.images, tps=args.tps, latency_ms=args.latency_ms,
                       timeout=args.timeout, operations=operations)
    path = write(document, args.out, "history")
    for operation, entry in document["runs"].items():
        print(f"-- {operation}: {entry['run']['status']} in {entry['run']['wallSeconds']} s\n"
              f"{summary(entry['histories'])}")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
