"""History bounds (issue 17): however many image sets, chunks, delete calls or prediction pages a project has, no
orchestration's history outgrows 4 x (its task budget + its largest unit) + 4 events; the loops beyond the inline
budget run in sub-orchestrations that continue as new, and still do every unit exactly once.

Real azure-functions-durable replay on devhost's engine with stub activities. devhost drops a generation's history
when it continues as new (as Azure starts the next execution's history afresh), so every generation's length is
taken when it ends: the events stored, plus the episode that decides to continue, plus the event that ends it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.harness import LocalDurableHost, output_of
from devhost.store import Store
from orchestrators import calls, data_request, delete_project, export_project

ALL_EXPORT = ["projects", "iterations", "iteration_performance", "tags", "images", "exported_models", "predictions"]


def ok(count: int = 1, **extra: Any) -> dict[str, Any]:
    return {"status": "complete", "count": count, "error": None, **extra}


class Stubs:
    """Activities of one large project: `sets` image sets of `chunks` chunks each, `pages` prediction chunks, a delete
    step that needs `step_calls` calls, a file list of `parts` parts; every call recorded."""

    def __init__(self, projects: list[str], *, sets: int = 1, chunks: int = 1, pages: int = 1, step_calls: int = 1,
                 parts: int = 1, flaky_chunk: tuple[int, int] | None = None) -> None:
        self.projects, self.sets, self.chunks, self.pages, self.step_calls = projects, sets, chunks, pages, step_calls
        self.parts = parts
        self.listed_parts: list[int] = []
        self.flaky_chunk = flaky_chunk  # (set number, chunk) that fails once, retryably
        self.calls: Counter[str] = Counter()
        self.chunk_calls: Counter[tuple[str, str, int]] = Counter()
        self.step_counts: Counter[tuple[str, str]] = Counter()
        self.finalized: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def image_sets(self) -> list[dict[str, Any]]:
        keys = ["workspace", *(f"it-{n:02d}" for n in range(1, self.sets))]
        return [{"key": k, "iterationId": None if k == "workspace" else k, "count": self.chunks * 480,
                 "chunks": self.chunks, "chunkSize": 480} for k in keys]

    def blueprint(self) -> df.Blueprint:
        bp = df.Blueprint()
        stubs = self

        def register(name: str, body: Any) -> None:
            def run(payload: dict[str, Any]) -> Any:
                with stubs.lock:
                    stubs.calls[name] += 1
                return body(payload)

            run.__name__ = name
            bp.activity_trigger(input_name="payload")(run)

        register("plan_request", lambda p: {**ok(len(stubs.projects)), "projects": stubs.projects, "missing": []})
        register("export_account", lambda p: {"status": "skipped", "count": 0, "error": {"code": "X", "message": "x"}})
        for name in ("export_project", "export_tags", "export_models"):
            register(name, lambda p: ok())
        register("export_iterations", lambda p: {c: ok() for c in p["categories"]})
        register("plan_images", lambda p: {**ok(stubs.sets * stubs.chunks * 480), "sets": stubs.image_sets()})
        register("export_image_chunk", self._chunk)
        register("finalize_images", self._finalize)
        register("export_prediction_chunk",
                 lambda p: {**ok(1024), "token": f"t{p['chunk'] + 1}" if p["chunk"] + 1 < stubs.pages else None})
        register("finalize_predictions", lambda p: ok(p["chunks"] * 1024))
        register("list_manifest_part", self._part)
        register("write_manifest", lambda p: {"path": "manifest.json", "files": sum(p["parts"]), "sha256": "0" * 64})
        register("clear_scratch", lambda p: ok())
        register("plan_delete_project", lambda p: {**ok(), "plan": {
            "projectId": p["projectId"], "exists": True, "iterations": 2, "publishedIterations": 0,
            "workspaceImages": 60 * 256, "iterationImages": {}, "tags": 0, "iterationTags": 0, "predictions": 0}})
        register("run_delete_step", self._step)
        register("verify_delete_project", lambda p: {**ok(), "verification": {
            "projectId": p["projectId"], "clean": True, "notes": [], "remaining": dict.fromkeys(p["categories"], 0)}})
        register("write_receipt", lambda p: {"path": f"receipts/{p['requestId']}.json", "receipt": {}})
        return bp

    def _chunk(self, payload: dict[str, Any]) -> dict[str, Any]:
        key = (payload["projectId"], payload["set"]["key"], payload["chunk"])
        with self.lock:
            self.chunk_calls[key] += 1
            first = self.chunk_calls[key] == 1
        flaky = self.flaky_chunk and self.image_sets()[self.flaky_chunk[0]]["key"] == key[1]
        if flaky and payload["chunk"] == self.flaky_chunk[1] and first:
            return {"status": "failed", "count": 0, "error": {"code": "Throttled", "message": "429"}, "retryable": True}
        return ok(480)

    def _part(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.listed_parts.append(payload["part"])
        return ok(1000, part=payload["part"], files=1000, done=payload["part"] + 1 == self.parts)

    def _finalize(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.finalized.append(payload)
        return ok(sum(s["count"] for s in payload["sets"]))

    def _step(self, payload: dict[str, Any]) -> dict[str, Any]:
        key = (payload["projectId"], payload["step"])
        with self.lock:
            self.step_counts[key] += 1
            n = self.step_counts[key]
        need = self.step_calls if payload["step"] == "images" else 1
        return ok(0, step=payload["step"], deleted=256, calls=2, done=n >= need)


class Run:
    """What a run left: each instance's final status and output, and the length of every generation's history."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.output: dict[str, Any] = {}
        self.generations: list[tuple[str, int]] = []  # (instance id, events) for each generation that continued
        self.final: dict[str, int] = {}  # instance id -> events of its last generation

    def largest(self) -> int:
        return max([*self.final.values(), *(n for _, n in self.generations)])


def run(stubs: Stubs, request: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run `data_request` to its end; record every generation's history length as it continues."""
    app = df.DFApp()
    for module in (data_request, export_project, delete_project):
        app.register_functions(module.bp)
    app.register_functions(stubs.blueprint())
    result = Run()
    commit = Store.commit_episode

    def spy(self: Store, episode: Any, outcome: Any) -> bool:
        if outcome.continued:  # stored events, this episode's start and new events, its end, and ContinuedAsNew
            events = len(episode.history) + 1 + len(episode.new_events) + 2
            result.generations.append((episode.instance.instance_id, events))
        return commit(self, episode, outcome)

    monkeypatch.setattr(Store, "commit_episode", spy)

    async def go() -> None:
        async with LocalDurableHost(app, max_activities=8) as host:
            payload = {"request": request, "receivedAt": "2026-11-22T00:00:00Z"}
            instance_id = await host.start_new("data_request", payload, instance_id=request["requestId"])
            await host.wait(instance_id, timeout=600)
            for instance in await host.engine.db(host.store.query):
                result.status[instance.instance_id] = instance.status
                result.output[instance.instance_id] = output_of(instance)
                result.final[instance.instance_id] = len(await host.history(instance.instance_id))

    asyncio.run(go())
    return result


def bound(tasks: int) -> int:
    """The most events a history awaiting `tasks` tasks can hold."""
    return 4 * tasks + 4


def export_request(**overrides: Any) -> dict[str, Any]:
    return {"operation": "export", "resource": "default", "projects": None, "categories": ALL_EXPORT,
            "requestId": "big-1", "dryRun": False, "confirm": None, **overrides}


@pytest.fixture
def small_budgets(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Budgets and windows small enough that a test-sized project needs many generations."""
    from activities import retry

    monkeypatch.setattr(retry.ACTIVITY_RETRY, "_first_retry_interval_in_milliseconds", 10)
    monkeypatch.setattr(export_project, "CHUNK_RETRY_SECONDS", 0)
    monkeypatch.setattr(delete_project, "STALL_WAIT_SECONDS", 0)
    monkeypatch.setattr(export_project, "CHUNK_WINDOW", 4)
    monkeypatch.setattr(calls, "LOOP_INLINE_TASKS", 8)
    monkeypatch.setattr(calls, "LOOP_GENERATION_TASKS", 24)
    return monkeypatch


def test_fifty_image_sets_of_many_chunks_export_each_chunk_once_under_the_bound(
    small_budgets: pytest.MonkeyPatch,
) -> None:
    stubs = Stubs(["p1"], sets=50, chunks=6, pages=40, parts=30, flaky_chunk=(17, 3))
    result = run(stubs, export_request(), small_budgets)
    assert result.status["big-1"] == "Completed"
    output = result.output["big-1"]
    assert output["categories"]["images"] == {"status": "complete", "count": 50 * 6 * 480, "error": None}
    assert output["categories"]["predictions"]["count"] == 40 * 1024

    # Every chunk of every set exactly once (the flaky one twice: its retry), then finalize once with every set.
    expected = {("p1", s["key"], c) for s in stubs.image_sets() for c in range(6)}
    assert set(stubs.chunk_calls) == expected
    assert sum(stubs.chunk_calls.values()) == 50 * 6 + 1
    assert stubs.chunk_calls[("p1", "it-17", 3)] == 2
    assert len(stubs.finalized) == 1 and [s["key"] for s in stubs.finalized[0]["sets"]] == [
        s["key"] for s in stubs.image_sets()]
    assert stubs.calls["finalize_predictions"] == 1 and stubs.calls["export_prediction_chunk"] == 40

    # The loops moved to sub-orchestrations that continued as new, many times.
    images, predictions = "big-1:p1:images", "big-1:p1:predictions"
    assert result.status[images] == result.status[predictions] == "Completed"
    assert result.output[images]["generation"] > 5 and result.output[images]["failedChunks"] == 0
    assert result.output[predictions]["generation"] > 2
    assert Counter(i for i, _ in result.generations)[images] == result.output[images]["generation"] - 1
    # The export's file list: each part once, in order, the later ones in `big-1:manifest`; the manifest from all.
    assert stubs.listed_parts == list(range(30)) and output["manifest"]["files"] == 30 * 1000
    assert result.output["big-1:manifest"]["generation"] > 1

    # No generation of any instance outgrew its budget: window units of 4 chunks, retries up to 4 rounds.
    window_unit = 4 * export_project.CHUNK_ATTEMPTS + export_project.CHUNK_ATTEMPTS - 1
    loop_bound = bound(calls.LOOP_GENERATION_TASKS - 1 + window_unit)
    assert max(n for i, n in result.generations) <= loop_bound
    assert result.final[images] <= loop_bound
    # export_project: 4 categories, plan_images and two finalizes (guarded calls), two inline loops, two
    # sub-orchestrations.
    guarded, inline = calls.GUARDED_CALL_TASKS, calls.LOOP_INLINE_TASKS - 1
    project_tasks = 7 * guarded + (inline + window_unit) + (inline + guarded) + 2
    assert result.final["big-1:p1"] <= bound(project_tasks)
    # data_request: plan and write_manifest (guarded calls), the project, the file list's inline part and its loop.
    assert result.final["big-1"] <= bound(2 * guarded + 1 + (inline + guarded) + 1)
    assert result.largest() < 2000


def test_a_delete_step_of_many_calls_continues_and_counts_every_call_once(small_budgets: pytest.MonkeyPatch) -> None:
    stubs = Stubs(["p1", "p2"], step_calls=60)
    request = export_request(operation="delete", requestId="del-big", categories=["images"], confirm="default")
    result = run(stubs, request, small_budgets)
    assert result.status["del-big"] == "Completed", result.output["del-big"]
    assert stubs.step_counts == {("p1", "images"): 60, ("p2", "images"): 60}
    for pid in ("p1", "p2"):
        loop = f"del-big:{pid}:delete-images"
        assert result.status[loop] == "Completed" and result.output[loop]["deleted"] == 60 * 256
        assert result.output[loop]["generation"] >= 3
    step_unit = calls.GUARDED_CALL_TASKS + 1
    assert max(n for _, n in result.generations) <= bound(calls.LOOP_GENERATION_TASKS - 1 + step_unit)
    inline_step = calls.LOOP_INLINE_TASKS - 1 + step_unit
    assert result.final["del-big:p1"] <= bound(2 * calls.GUARDED_CALL_TASKS + inline_step + 1)


def test_the_real_budgets_bound_a_project_larger_than_the_service_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    """21 image sets (the workspace and 20 iterations, S0's limit) of 100,000 images: 4,375 chunks of 480."""
    from activities import retry

    monkeypatch.setattr(retry.ACTIVITY_RETRY, "_first_retry_interval_in_milliseconds", 10)
    stubs = Stubs(["p1"], sets=21, chunks=209)
    result = run(stubs, export_request(categories=["images"], requestId="s0-max"), monkeypatch)
    assert result.status["s0-max"] == "Completed"
    assert sum(stubs.chunk_calls.values()) == len(stubs.chunk_calls) == 21 * 209
    window_unit = export_project.CHUNK_WINDOW * export_project.CHUNK_ATTEMPTS + export_project.CHUNK_ATTEMPTS - 1
    assert result.largest() <= bound(calls.LOOP_GENERATION_TASKS - 1 + window_unit) < 2000
    assert result.output["s0-max:p1:images"]["generation"] == len(result.generations) + 1 >= 10
