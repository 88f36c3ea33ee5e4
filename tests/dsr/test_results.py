"""A delete's per-category result, decided once (dsr.delete.results): output, status and receipt agree."""

from __future__ import annotations

from typing import Any

from dsr.delete.results import (
    CANCELLED,
    REMAINING,
    category_outcome,
    outcomes,
    overall,
    planned,
    receipt_entry,
    step_results,
)

OK: dict[str, Any] = {"status": "complete", "count": 0, "error": None}


def plan(pid: str, images: int) -> dict[str, Any]:
    return {"projectId": pid, "exists": True, "iterations": 1, "publishedIterations": 0, "workspaceImages": images,
            "iterationImages": {}, "tags": 2, "iterationTags": 0, "predictions": 0}


def test_anything_left_fails_the_category_whatever_the_steps_said() -> None:
    assert category_outcome(before=10, after=0, result=OK) == {
        "status": "complete", "count": 10, "error": None, "before": 10, "after": 0}
    left = category_outcome(before=10, after=3, result=OK)
    assert left["status"] == "failed" and left["count"] == 7
    assert left["error"] == {"code": REMAINING, "message": "3 left after deleting"}
    assert receipt_entry(left) == {"status": "failed", "before": 10, "after": 3, "errorCode": REMAINING}


def test_a_steps_error_is_kept_and_unverified_counts_claim_nothing() -> None:
    result = {"status": "failed", "count": 0, "error": {"code": "DeleteStalled", "message": "no progress"}}
    outcome = category_outcome(before=10, after=None, result=result)
    assert (outcome["status"], outcome["count"], outcome["error"]["code"]) == ("failed", 0, "DeleteStalled")
    skipped = {"status": "skipped", "count": 0, "error": {"code": "NotEnabled", "message": "not enabled"}}
    entry = receipt_entry(category_outcome(before=None, after=None, result=skipped))
    assert entry == {"status": "skipped", "before": None, "after": None, "errorCode": "NotEnabled",
                     "reason": "not enabled"}


def test_a_cancel_explains_the_categories_it_cut_short() -> None:
    outcomes_ = [{"errors": [{"code": "DeleteStalled", "message": "x", "step": "tags"},
                             {"code": CANCELLED, "message": "cancelled", "step": "images"}]}]
    results = step_results(["images", "tags", "predictions"], outcomes_, {"status": "complete"}, None)
    assert results["images"]["error"]["code"] == CANCELLED
    assert results["tags"]["error"]["code"] == CANCELLED  # the cancel explains what never ran after it
    assert results["predictions"]["error"]["code"] == CANCELLED
    assert step_results(["tags"], [{"errors": [{"code": "DeleteStalled", "message": "x", "step": "tags"}]}],
                        {"status": "complete"}, None)["tags"]["error"]["code"] == "DeleteStalled"
    summary = outcomes(["images"], [plan("p1", 5)], [{"projectId": "p1", "remaining": {"images": 2}}], results)
    assert overall(summary, clean=False) == "cancelled"
    assert overall(outcomes(["images"], [plan("p1", 5)], [{"projectId": "p1", "remaining": {"images": 0}}],
                            {"images": OK}), clean=True) == "completed"


def test_sums_over_projects_and_a_dry_run_counts_what_would_go() -> None:
    plans = [plan("p1", 5), plan("p2", 7)]
    verifications = [{"projectId": "p1", "remaining": {"images": 0, "tags": 0}}]  # p2 not verified
    summary = outcomes(["images", "tags"], plans, verifications, {"images": OK, "tags": OK})
    assert (summary["images"]["before"], summary["images"]["after"], summary["images"]["count"]) == (12, 0, 12)
    dry = planned(["images", "account"], plans, {"images": OK, "account": OK})
    assert dry["images"]["count"] == 12 and dry["images"]["after"] is None and dry["account"]["before"] is None
