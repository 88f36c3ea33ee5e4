"""The subject branch of the orchestration through the real durable replay (devhost's engine), stub activities:
fan-out per resource x project, a resource that cannot be listed, a cancel, leftovers, and what history holds."""

from __future__ import annotations

from collections import Counter
from typing import Any

import azure.durable_functions as df
import pytest

from orchestrators import data_request, delete_project, export_project, subject_project
from tests.orchestrators.replay import run_request

OK = {"status": "complete", "count": 0, "error": None}
REF = {"digest": "0" * 64, "summary": {"kind": "metadata", "keys": ["userId"], "imageIds": 0, "predictions": True}}


class Stubs:
    """Subject activities that record what they were asked; knobs for failures, a cancel, leftovers."""

    def __init__(self, projects: dict[str, list[str]], *, broken: str | None = None, cancel_in: str | None = None,
                 leftover: str | None = None) -> None:
        self.projects, self.broken, self.cancel_in, self.leftover = projects, broken, cancel_in, leftover
        self.calls: Counter[str] = Counter()
        self.payloads: list[tuple[str, dict[str, Any]]] = []

    def blueprint(self) -> df.Blueprint:
        bp = df.Blueprint()

        def register(name: str, body: Any) -> None:
            def run(payload: dict[str, Any]) -> Any:
                self.calls[name] += 1
                self.payloads.append((name, payload))
                return body(payload)

            run.__name__ = name
            bp.activity_trigger(input_name="payload")(run)

        register("plan_request", self._plan)
        register("find_subject", lambda p: {**OK, "exists": True, "images": 2, "copies": 5, "impacted": 1,
                                            "predictions": 1, "steps": ["predictions", "images"]})
        register("erase_subject_step", self._erase)
        register("verify_subject", lambda p: {**OK, "images": int(p["projectId"] == self.leftover),
                                              "predictions": 0, "clean": p["projectId"] != self.leftover})
        register("export_subject_project", lambda p: dict(OK))
        register("plan_images", lambda p: {**OK, "sets": [{"key": "workspace", "iterationId": None, "count": 2,
                                                           "chunks": 1}]})
        register("export_image_chunk", lambda p: {**OK, "count": 2})
        register("finalize_images", lambda p: {**OK, "count": 2})
        register("export_prediction_chunk", lambda p: {**OK, "count": 1, "token": None})
        register("finalize_predictions", lambda p: {**OK, "count": 1})
        impact = [{"resource": "a", "projectId": "p1", "iterationId": "i1", "name": "It", "publishName": None,
                   "status": "Completed", "images": 2}]
        for name, path in (("write_subject_export", "{}/manifest.json"), ("write_subject_plan", "{}/delete-plan.json"),
                           ("write_subject_receipt", "receipts/{}.json")):
            register(name, lambda p, path=path: {"status": "complete", "path": path.format(p["requestId"]),
                                                 "modelImpact": impact, "modelImpactTotal": 1, "missingProjects": []})
        return bp

    def _plan(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["resource"] == self.broken:
            return {"status": "failed", "count": 0, "error": {"code": "Unauthorized", "message": "401"},
                    "projects": [], "missing": []}
        return {**OK, "projects": self.projects[payload["resource"]], "missing": []}

    def _erase(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["projectId"] == self.cancel_in:
            return {"status": "failed", "count": 0, "error": {"code": "RequestCancelled", "message": "cancelled"},
                    "step": payload["step"], "deleted": 0, "calls": 0, "done": False}
        return {**OK, "step": payload["step"], "deleted": 2, "calls": 1, "done": True}


def run(stubs: Stubs, request: dict[str, Any]) -> tuple[str, Any, Any]:
    return run_request((data_request, export_project, delete_project, subject_project), stubs.blueprint(), request)


def request(**overrides: Any) -> dict[str, Any]:
    return {"operation": "delete", "resource": "*", "resources": ["a", "b"], "projects": None,
            "categories": ["images", "predictions"], "requestId": "subj-1", "dryRun": False, "confirm": "*",
            "subject": REF, **overrides}


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from activities import retry

    monkeypatch.setattr(retry.ACTIVITY_RETRY, "_first_retry_interval_in_milliseconds", 10)
    monkeypatch.setattr(delete_project, "STALL_WAIT_SECONDS", 0)


def test_every_project_of_every_resource_is_searched_and_erased_in_order() -> None:
    stubs = Stubs({"a": ["p1", "p2"], "b": ["p1"]})
    status, output, _ = run(stubs, request())
    assert status == "Completed" and output["status"] == "completed", output
    found = sorted((p["resource"], p["projectId"]) for name, p in stubs.payloads if name == "find_subject")
    assert found == [("a", "p1"), ("a", "p2"), ("b", "p1")]  # the same project id in two resources: both
    steps = [(p["resource"], p["projectId"], p["step"]) for name, p in stubs.payloads if name == "erase_subject_step"]
    assert [s for r, pid, s in steps if (r, pid) == ("b", "p1")] == ["predictions", "images"]
    assert output["categories"]["images"] == {"status": "complete", "count": 15, "error": None, "before": 15,
                                              "after": 0}
    assert output["searched"] == {"resources": 2, "projects": 3, "projectsWithMatches": 3, "projectsFailed": 0,
                                  "images": 6, "imageCopies": 15, "modelsAffected": 3}
    assert output["receiptPath"] == "receipts/subj-1.json" and output["modelImpactTotal"] == 1
    assert all(p["subject"] == REF for name, p in stubs.payloads if name != "plan_request")


def test_a_resource_that_cannot_be_listed_is_reported_and_the_other_searched() -> None:
    stubs = Stubs({"a": ["p1"], "b": ["p9"]}, broken="a")
    status, output, _ = run(stubs, request(operation="export", requestId="exp-1", dryRun=False, confirm=None))
    assert status == "Completed" and output["manifestPath"] == "exp-1/manifest.json"
    assert [p["resource"] for name, p in stubs.payloads if name == "find_subject"] == ["b"]
    plans = next(p for name, p in stubs.payloads if name == "write_subject_export")["plans"]
    assert plans[0]["error"]["code"] == "Unauthorized" and plans[1]["projects"] == ["p9"]
    assert output["categories"]["images"]["count"] == 2 and output["categories"]["predictions"]["count"] == 1


def test_a_dry_run_erases_nothing() -> None:
    stubs = Stubs({"a": ["p1"], "b": []})
    status, output, _ = run(stubs, request(dryRun=True, requestId="dry-1", confirm=None))
    assert status == "Completed" and output["status"] == "dry_run"
    assert stubs.calls["erase_subject_step"] == 0 and stubs.calls["verify_subject"] == 0
    assert output["categories"]["images"]["count"] == 5 and output["detailsPath"] == "dry-1/delete-plan.json"


def test_a_cancel_stops_further_projects_and_says_so() -> None:
    projects = [f"p{n:02d}" for n in range(12)]  # two batches of PROJECT_BATCH
    stubs = Stubs({"a": projects, "b": []}, cancel_in="p03")
    status, output, _ = run(stubs, request(requestId="cancel-1"))
    assert status == "Completed" and output["status"] == "cancelled"
    assert stubs.calls["find_subject"] == 10  # the second batch never started
    assert output["categories"]["images"]["error"]["code"] == "RequestCancelled"


def test_leftovers_fail_the_request_with_the_result_in_the_status() -> None:
    stubs = Stubs({"a": ["p1"], "b": ["p2"]}, leftover="p2")
    status, _, custom = run(stubs, request(requestId="left-1"))
    assert status == "Failed"
    assert custom["result"]["status"] == "verification_failed"
    assert custom["result"]["categories"]["images"]["after"] == 1
    assert custom["result"]["receiptPath"] == "receipts/left-1.json"


def test_batches_take_the_resources_in_turn() -> None:
    from orchestrators.subject_flow import interleaved

    plans = [{"resource": "a", "projects": ["p1", "p2", "p3"]}, {"resource": "b", "projects": ["p1"]}]
    children = interleaved(request(), plans)
    assert [(c["resource"], c["projectId"]) for c, _ in children] == [("a", "p1"), ("b", "p1"), ("a", "p2"),
                                                                      ("a", "p3")]
    assert [i for _, i in children] == ["subj-1:0:p1", "subj-1:1:p1", "subj-1:0:p2", "subj-1:0:p3"]
