"""The data-request orchestrations under Azure's rules (real SDK replay on devhost's engine, stub activities).

- custom status is capped at 16 KB of UTF-16 JSON and fails the orchestration above it (Durable extension
  pull request #3113; DurableOrchestrationContext.SetCustomStatus): it holds progress only, whatever the
  number of projects; the output stays small and points to blobs for per-project detail.
- a failed task_all is delivered by the SDK at once while the extension's shim waits for every child
  (OutOfProcOrchestrationShim: Task.WhenAll; azure-functions-durable-python issue #603): no path may go on
  while children are pending, and one failed child must not cost its siblings' results.
- terminate does not stop scheduled work on Azure, so a cancelled delete stops through a marker its steps
  check: once a step reports the cancel, no further project starts and the receipt says what was deleted.
- failures reach the orchestrator as the .NET exception serialized (kilobytes with stack traces): outputs
  keep a bounded, scrubbed reason.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import azure.durable_functions as df
import pytest

from orchestrators import calls, data_request, delete_project, export_project
from tests.orchestrators.replay import run_request

ALL_DELETE = ["projects", "iterations", "iteration_performance", "tags", "images", "predictions"]
CANCELLED = "RequestCancelled"


def plan(pid: str) -> dict[str, Any]:
    return {"projectId": pid, "exists": True, "iterations": 2, "publishedIterations": 0, "workspaceImages": 10,
            "iterationImages": {"it-1": 5, "it-2": 5}, "tags": 3, "iterationTags": 3, "predictions": 4}


def ok(count: int = 1, **extra: Any) -> dict[str, Any]:
    return {"status": "complete", "count": count, "error": None, **extra}


class Stubs:
    """Activity doubles; each records its calls and inputs."""

    def __init__(self, projects: list[str], *, leftover: bool = False, broken_plan: set[str] | None = None,
                 cancel_after_steps: int | None = None, chunks: int = 6, failing_chunk: int | None = None,
                 raising: dict[str, str] | None = None) -> None:
        self.projects, self.leftover, self.broken_plan = projects, leftover, broken_plan or set()
        self.cancel_after_steps, self.chunks, self.failing_chunk = cancel_after_steps, chunks, failing_chunk
        self.raising = raising or {}
        self.calls: Counter[str] = Counter()
        self.inputs: dict[str, list[Any]] = {}
        self.lock = threading.Lock()

    def blueprint(self) -> df.Blueprint:
        bp = df.Blueprint()
        stubs = self

        def register(name: str, body: Any) -> None:
            def run(payload: dict[str, Any]) -> Any:
                with stubs.lock:
                    stubs.calls[name] += 1
                    stubs.inputs.setdefault(name, []).append(payload)
                if name in stubs.raising:
                    raise ValueError(stubs.raising[name])
                return body(payload)

            run.__name__ = name
            bp.activity_trigger(input_name="payload")(run)

        register("plan_request", lambda p: {**ok(), "projects": stubs.projects, "missing": []})
        register("plan_delete_project", self._plan)
        register("run_delete_step", self._step)
        register("verify_delete_project", lambda p: {**ok(), "verification": {
            "projectId": p["projectId"], "clean": not stubs.leftover, "notes": [],
            "remaining": {c: (1 if stubs.leftover and c == "images" else 0) for c in p["categories"]},
            "counts": plan(p["projectId"])}})
        register("write_receipt", self._receipt)
        register("write_delete_plan", lambda p: {**ok(), "path": f"{p['requestId']}/delete-plan.json"})
        register("delete_account", lambda p: {"status": "skipped", "count": 0, "error": {"code": "X", "message": "x"}})
        register("export_account", lambda p: {"status": "skipped", "count": 0, "error": {"code": "X", "message": "x"}})
        register("export_project", lambda p: ok())
        register("export_tags", lambda p: ok(3))
        register("plan_images", lambda p: {**ok(stubs.chunks * 10), "sets": [
            {"key": "workspace", "iterationId": None, "count": stubs.chunks * 10, "chunks": stubs.chunks}]})
        register("export_image_chunk", self._chunk)
        register("finalize_images", lambda p: ok(stubs.chunks * 10))
        register("list_manifest_part", lambda p: {**ok(), "part": p["part"], "files": 1, "done": True})
        register("write_manifest", lambda p: {"path": "manifest.json", "files": 3, "sha256": "0" * 64})
        register("clear_scratch", lambda p: ok())
        return bp

    def _plan(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["projectId"] in self.broken_plan:
            return {"status": "complete"}  # no "plan": the sub-orchestration fails on it
        return {**ok(), "plan": plan(payload["projectId"])}

    def _step(self, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            done_so_far = self.calls["run_delete_step"]
        if self.cancel_after_steps is not None and done_so_far > self.cancel_after_steps:
            return {"status": "failed", "count": 0, "step": payload["step"], "deleted": 0, "calls": 0, "done": False,
                    "error": {"code": CANCELLED, "message": "the request was cancelled"}}
        return {**ok(5), "step": payload["step"], "deleted": 5, "calls": 1, "done": True}

    def _receipt(self, payload: dict[str, Any]) -> dict[str, Any]:
        projects = [{"projectId": p["projectId"], "before": {"images": 20}, "after": {"images": 0}, "clean": True}
                    for p in payload["plans"]]  # a real receipt lists every project: large for 100
        return {"path": f"receipts/{payload['requestId']}.json", "receipt": {"projects": projects,
                "verification": {"clean": not self.leftover, "remaining": {"images": int(self.leftover)}}}}

    def _chunk(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["chunk"] == self.failing_chunk:
            raise RuntimeError("the storage account refused the copy")
        return ok(10)


def run(stubs: Stubs, request: dict[str, Any]) -> tuple[str, Any, Any]:
    return run_request((data_request, export_project, delete_project), stubs.blueprint(), request,
                       max_orchestrators=8, timeout=180)


def delete_request(**overrides: Any) -> dict[str, Any]:
    return {"operation": "delete", "resource": "default", "projects": None, "categories": ALL_DELETE,
            "requestId": "del-1", "dryRun": False, "confirm": "default", **overrides}


def export_request(**overrides: Any) -> dict[str, Any]:
    return {"operation": "export", "resource": "default", "projects": None, "categories": ["tags", "images"],
            "requestId": "exp-1", "dryRun": False, "confirm": None, **overrides}


def utf16_kb(value: Any) -> float:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-16-le")) / 1024


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from activities import retry

    monkeypatch.setattr(retry.ACTIVITY_RETRY, "_first_retry_interval_in_milliseconds", 10)
    monkeypatch.setattr(retry.ACTIVITY_RETRY, "_max_number_of_attempts", 2)
    monkeypatch.setattr(delete_project, "STALL_WAIT_SECONDS", 0)
    monkeypatch.setattr(export_project, "CHUNK_RETRY_SECONDS", 0, raising=False)


PROJECTS_100 = [f"p{i:03d}" for i in range(100)]


# --- 1. bounded custom status and output -----------------------------------------------------------------


def test_a_delete_of_100_projects_completes_with_small_status_and_output() -> None:
    status, output, custom = run(Stubs(PROJECTS_100), delete_request(requestId="del-100"))
    assert status == "Completed", output
    assert output["status"] == "completed" and output["receiptPath"] == "receipts/del-100.json"
    assert utf16_kb(custom) < 2 and set(custom) == {"phase", "progress"}  # progress only
    assert utf16_kb(output) < 8  # summary and links; per-project detail is in the receipt blob
    assert "p050" not in json.dumps(output)
    assert output["categories"]["images"] == {"status": "complete", "count": 100 * 20, "error": None,
                                              "before": 100 * 20, "after": 0}


def test_a_failed_verification_of_100_projects_keeps_its_result_within_the_limit() -> None:
    status, _, custom = run(Stubs(PROJECTS_100, leftover=True), delete_request(requestId="left-100"))
    assert status == "Failed"
    assert utf16_kb(custom) < 8
    assert custom["result"]["status"] == "verification_failed"
    assert custom["result"]["receiptPath"] == "receipts/left-100.json"
    assert custom["result"]["categories"]["images"]["after"] == 100


def test_a_dry_run_of_100_projects_puts_the_per_project_plan_in_a_blob() -> None:
    stubs = Stubs(PROJECTS_100)
    status, output, _ = run(stubs, delete_request(requestId="dry-100", dryRun=True))
    assert status == "Completed" and output["status"] == "dry_run"
    assert output["detailsPath"] == "dry-100/delete-plan.json" and "plans" not in output
    assert len(stubs.inputs["write_delete_plan"][0]["plans"]) == 100
    assert utf16_kb(output) < 8 and output["categories"]["images"]["count"] == 100 * 20


# --- 2. a failed child never costs its siblings, and nothing goes on while they run ----------------------


def test_a_failed_sub_orchestration_fails_only_its_own_project() -> None:
    stubs = Stubs(["p1", "p2", "p3"], broken_plan={"p2"})
    status, output, _ = run(stubs, delete_request(requestId="sub-1"))
    planned = sorted(p["projectId"] for p in stubs.inputs["write_receipt"][0]["plans"])
    assert planned == ["p1", "p3"]  # the siblings' outcomes are kept
    images = output["categories"]["images"] if status == "Completed" else None
    assert images is not None and images["status"] == "failed", output
    assert images["error"]["code"] == "SubOrchestrationFailed"
    assert "p2" in images["error"]["message"] and "Stack" not in images["error"]["message"]


def test_a_failing_image_chunk_is_retried_by_the_orchestrator_and_every_other_chunk_still_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export_project, "CHUNK_WINDOW", 2)
    stubs = Stubs(["p1"], chunks=6, failing_chunk=1)
    status, output, _ = run(stubs, export_request())
    assert status == "Completed"
    chunks = Counter(p["chunk"] for p in stubs.inputs["export_image_chunk"])
    assert {c: chunks[c] for c in (0, 2, 3, 4, 5)} == dict.fromkeys((0, 2, 3, 4, 5), 1)
    assert chunks[1] == export_project.CHUNK_ATTEMPTS
    # A chunk that failed for good never fails the category: finalize checks every set against its count and
    # lists again what the chunk missed (issue 14), so its answer is the category's.
    assert stubs.calls["finalize_images"] == 1
    assert output["categories"]["images"] == {"status": "complete", "count": 60, "error": None}


# --- 3. a cancelled delete stops starting work and reports what was deleted ------------------------------


def test_after_a_cancel_no_further_project_starts_and_the_receipt_is_written() -> None:
    projects = [f"c{i:02d}" for i in range(25)]
    stubs = Stubs(projects, cancel_after_steps=3)
    status, output, _ = run(stubs, delete_request(requestId="cancel-1", categories=["images", "account"]))
    assert status == "Completed" and output["status"] == "cancelled"
    assert stubs.calls["plan_delete_project"] == calls.PROJECT_BATCH  # later batches never start
    assert stubs.calls["delete_account"] == 0  # nothing more is deleted after the cancel
    assert stubs.calls["write_receipt"] == 1
    images = output["categories"]["images"]
    assert images["status"] == "failed" and images["error"]["code"] == CANCELLED
    assert output["categories"]["account"]["error"]["code"] == CANCELLED


# --- 5. bounded, scrubbed failure reasons ----------------------------------------------------------------


def test_an_activity_failure_becomes_a_short_reason_without_stacks_or_secrets() -> None:
    secret = "https://acct.blob.core.windows.net/c/b?sv=2024-01-01&sig=c2VjcmV0c2lnbmF0dXJlCg%3D%3D"
    stubs = Stubs(["p1"], raising={"export_tags": f"cannot write {secret} " + "x" * 2000})
    status, output, _ = run(stubs, export_request(categories=["tags"]))
    assert status == "Completed"
    message = output["categories"]["tags"]["error"]["message"]
    assert message.startswith("export_tags: ValueError: cannot write")
    assert len(message) <= 300 and "c2VjcmV0c2lnbmF0dXJl" not in message
    assert "Stack" not in message and "$type" not in message and "Traceback" not in message


def test_the_result_kept_in_a_failed_deletes_status_fits_16_kb_at_worst() -> None:
    from orchestrators.delete_flow import bounded
    from orchestrators.progress import progress_status

    every = ["account", *ALL_DELETE, "exported_models"]
    worst = {c: {"status": "failed", "count": 10**9, "before": 10**9, "after": 10**9,
                 "error": {"code": "X" * 40, "message": "\u00e9" * 500}} for c in every}
    output = {"requestId": "r" * 64, "operation": "delete", "resource": "a" * 64, "dryRun": False,
              "status": "verification_failed", "categories": worst, "missingProjects": ["0" * 36] * 100,
              "manifestPath": None, "receiptPath": f"receipts/{'r' * 64}.json", "detailsPath": None}
    custom = {**progress_status("done", every, dict.fromkeys(every, 100), dict.fromkeys(every, 100)),
              "result": bounded(output)}
    assert utf16_kb(custom) < 16
