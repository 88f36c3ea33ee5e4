"""The delete orchestration through the real durable replay (devhost's engine), with stub activities."""

from __future__ import annotations

from collections import Counter
from typing import Any

import azure.durable_functions as df
import pytest

from orchestrators import data_request, delete_project, export_project
from tests.orchestrators.replay import run_request

CATEGORIES = ["projects", "iterations", "iteration_performance", "tags", "images", "predictions"]


def plan(pid: str) -> dict[str, Any]:
    return {"projectId": pid, "exists": True, "iterations": 2, "publishedIterations": 1, "workspaceImages": 10,
            "iterationImages": {"it": 5}, "tags": 3, "iterationTags": 3, "predictions": 4}


class Stubs:
    """Delete activities that record the order of steps; `stuck` makes a step never finish."""

    def __init__(self, projects: list[str], *, stuck: str | None = None, leftover: bool = False) -> None:
        self.projects, self.stuck, self.leftover = projects, stuck, leftover
        self.steps: list[tuple[str, str]] = []
        self.calls: Counter[str] = Counter()

    def blueprint(self) -> df.Blueprint:
        bp = df.Blueprint()
        stubs = self

        def register(name: str, body: Any) -> None:
            def run(payload: dict[str, Any]) -> Any:
                stubs.calls[name] += 1
                return body(payload)

            run.__name__ = name
            bp.activity_trigger(input_name="payload")(run)

        ok = {"status": "complete", "count": 1, "error": None}
        register("plan_request", lambda p: {**ok, "projects": stubs.projects, "missing": []})
        register("plan_delete_project", lambda p: {**ok, "plan": plan(p["projectId"])})
        register("run_delete_step", self._step)
        register("verify_delete_project", lambda p: {**ok, "verification": {
            "projectId": p["projectId"], "clean": not stubs.leftover, "notes": [],
            "remaining": {c: (1 if stubs.leftover and c == "images" else 0) for c in p["categories"]},
            "counts": plan(p["projectId"])}})
        register("write_receipt", lambda p: {"path": f"receipts/{p['requestId']}.json", "receipt": {
            "verification": {"clean": not stubs.leftover, "remaining": {"images": int(stubs.leftover)}},
            "results": {c: {"status": "failed" if stubs.leftover and c == "images" else "complete",
                            "before": 1, "after": int(stubs.leftover and c == "images"), "errorCode": None}
                        for c in p["categories"]}}})
        register("delete_account", lambda p: {"status": "skipped", "count": 0, "error": {"code": "X", "message": "x"}})
        return bp

    def _step(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.steps.append((payload["projectId"], payload["step"]))
        done = payload["step"] != self.stuck
        return {"status": "complete", "count": 0, "error": None, "step": payload["step"], "deleted": 0,
                "calls": 1, "done": done}


def run(stubs: Stubs, request: dict[str, Any]) -> tuple[str, Any, Any]:
    return run_request((data_request, export_project, delete_project), stubs.blueprint(), request)


def request(**overrides: Any) -> dict[str, Any]:
    return {"operation": "delete", "resource": "default", "projects": None, "categories": CATEGORIES,
            "requestId": "del-1", "dryRun": False, "confirm": "default", **overrides}


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from activities import retry

    monkeypatch.setattr(retry.ACTIVITY_RETRY, "_first_retry_interval_in_milliseconds", 10)
    monkeypatch.setattr(delete_project, "STALL_WAIT_SECONDS", 0)


def test_steps_run_in_the_service_order_per_project() -> None:
    stubs = Stubs(["p1", "p2"])
    status, output, _ = run(stubs, request())
    assert status == "Completed" and output["status"] == "completed"
    for pid in ["p1", "p2"]:
        assert [s for p, s in stubs.steps if p == pid] == [
            "predictions", "unpublish", "images", "tags", "iterations", "project"]
    assert output["receiptPath"] == "receipts/del-1.json"


def test_dry_run_plans_and_deletes_nothing() -> None:
    stubs = Stubs(["p1"])
    status, output, _ = run(stubs, request(dryRun=True, requestId="dry-1"))
    assert status == "Completed" and output["status"] == "dry_run"
    assert stubs.steps == [] and stubs.calls["write_receipt"] == 0 and stubs.calls["verify_delete_project"] == 0
    assert output["categories"]["images"]["count"] == 15 and output["categories"]["tags"]["count"] == 6


def test_only_the_steps_of_requested_categories_run() -> None:
    stubs = Stubs(["p1"])
    run(stubs, request(categories=["images"], requestId="img-1"))
    assert [s for _, s in stubs.steps] == ["images"]


def test_a_stalled_step_stops_the_project_and_fails_its_categories() -> None:
    stubs = Stubs(["p1"], stuck="images")
    status, output, _ = run(stubs, request(requestId="stall-1"))
    assert status == "Completed"  # the stub verification says clean; the step's failure is still reported
    assert output["categories"]["images"]["error"]["code"] == "DeleteStalled"
    assert [s for _, s in stubs.steps].count("images") == delete_project.MAX_STALLS
    assert "tags" not in [s for _, s in stubs.steps]  # later steps never run after a failed one


def test_leftovers_after_verification_fail_the_request_with_its_receipt_in_the_status() -> None:
    stubs = Stubs(["p1"], leftover=True)
    status, _, custom = run(stubs, request(requestId="left-1"))
    assert status == "Failed"
    assert custom["result"]["status"] == "verification_failed"
    assert custom["result"]["categories"]["images"]["status"] == "failed"
    assert custom["result"]["receiptPath"] == "receipts/left-1.json"
