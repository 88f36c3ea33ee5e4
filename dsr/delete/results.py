"""A delete's per-category result, decided in one place (plain code).

The steps' errors give each category an envelope (`step_results`); the counts before (plans) and after
(verifications) decide the rest (`category_outcome`): anything left fails the category, whatever the steps
said. The orchestration's output, the status answer and the signed receipt all show this one result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from dsr.categories import Category, CategoryStatus
from dsr.delete.account import exported_models_result
from dsr.delete.order import PROJECT_DELETE_CATEGORIES, steps_for
from dsr.delete.plan import category_counts
from dsr.envelope import ErrorInfo, complete, failed, skipped

REMAINING = "VerificationFoundRemaining"  # a category that verification did not find empty
CANCELLED = "RequestCancelled"  # the request was cancelled before this category was done


class CategoryOutcome(TypedDict):
    """One category across the request: what the output and status show (`count`: items deleted)."""

    status: str
    count: int
    error: ErrorInfo | None
    before: int | None
    after: int | None


class ReceiptEntry(TypedDict):
    """The same outcome as a receipt records it: counts and an error code, never a service message."""

    status: str
    before: int | None
    after: int | None
    errorCode: str | None
    reason: NotRequired[str]  # our own explanation of a skipped category


def step_results(categories: Iterable[str], outcomes: Sequence[Mapping[str, Any]], plan: Mapping[str, Any],
                 account_result: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per category: the first error of a step it needs (or of a project's plan/verification), else complete."""
    errors = [e for o in outcomes for e in o.get("errors") or []]
    results: dict[str, dict[str, Any]] = {}
    for category in categories:
        needs = {str(s) for s in steps_for([category])}
        cancelled = [e for e in errors if e.get("code") == CANCELLED]  # a cancel cuts every later step short
        concerning = [e for e in errors if e.get("step") is None or e["step"] in needs] + cancelled
        if category == Category.ACCOUNT:
            results[category] = dict(account_result or skipped("not requested"))
        elif category == Category.EXPORTED_MODELS:
            results[category] = dict(exported_models_result(account_result))  # type: ignore[arg-type]
        elif plan.get("status") != "complete":
            results[category] = {**plan, "count": 0}
        elif concerning:
            first = (cancelled or concerning)[0]  # a cancel explains everything after it
            results[category] = dict(failed(first["code"], first["message"]))
        else:
            results[category] = dict(complete(0))
    return results


def category_outcome(*, before: int | None, after: int | None, result: Mapping[str, Any] | None) -> CategoryOutcome:
    """The decision: the steps' status and error, failed when verification found anything left."""
    error = (result or {}).get("error") or None
    status = str((result or {}).get("status") or CategoryStatus.COMPLETE)
    if after:
        status = str(CategoryStatus.FAILED)
        if not error or error.get("code") == "Skipped":
            error = ErrorInfo(code=REMAINING, message=f"{after} left after deleting")
    if status == CategoryStatus.FAILED and not error:
        error = ErrorInfo(code="Failed", message="the category failed")
    count = (before or 0) - (after or 0) if after is not None else 0
    return CategoryOutcome(status=status, count=max(count, 0), error=error, before=before, after=after)


def totals(category: str, plans: Sequence[Mapping[str, Any]],
           verifications: Sequence[Mapping[str, Any]]) -> tuple[int | None, int | None]:
    """(before, after) of one category summed over the planned projects; None where nothing was counted."""
    remaining = {v["projectId"]: v.get("remaining") or {} for v in verifications}
    befores = [category_counts(p, [category]).get(category) for p in plans]  # type: ignore[arg-type]
    afters = [remaining[p["projectId"]].get(category) if p["projectId"] in remaining else None for p in plans]
    return sum_counts(befores), sum_counts(afters)


def outcomes(categories: Iterable[str], plans: Sequence[Mapping[str, Any]],
             verifications: Sequence[Mapping[str, Any]],
             results: Mapping[str, Mapping[str, Any]]) -> dict[str, CategoryOutcome]:
    """Every requested category's outcome after deleting."""
    summary: dict[str, CategoryOutcome] = {}
    for category in categories:
        counted = category in PROJECT_DELETE_CATEGORIES
        before, after = totals(category, plans, verifications) if counted else (None, None)
        summary[category] = category_outcome(before=before, after=after, result=results.get(category))
    return summary


def planned(categories: Iterable[str], plans: Sequence[Mapping[str, Any]],
            results: Mapping[str, Mapping[str, Any]]) -> dict[str, CategoryOutcome]:
    """A dry run's outcome: what each category would remove (`count`), nothing deleted."""
    summary: dict[str, CategoryOutcome] = {}
    for category in categories:
        before = totals(category, plans, [])[0] if category in PROJECT_DELETE_CATEGORIES else None
        outcome = category_outcome(before=before, after=None, result=results.get(category))
        summary[category] = CategoryOutcome(**{**outcome, "count": before or 0, "after": None})
    return summary


def receipt_entry(outcome: CategoryOutcome) -> ReceiptEntry:
    """The outcome as a receipt records it."""
    error = outcome["error"] or {}
    entry = ReceiptEntry(status=outcome["status"], before=outcome["before"], after=outcome["after"],
                         errorCode=error.get("code") if outcome["status"] != CategoryStatus.COMPLETE else None)
    if outcome["status"] == CategoryStatus.SKIPPED:
        entry["errorCode"] = error.get("code")
        if error.get("message"):
            entry["reason"] = str(error["message"])
    return entry


def overall(summary: Mapping[str, Mapping[str, Any]], *, clean: bool) -> str:
    """The request's result status: cancelled, completed (verified clean) or verification_failed."""
    if any((o.get("error") or {}).get("code") == CANCELLED for o in summary.values()):
        return "cancelled"
    return "completed" if clean else "verification_failed"


def sum_counts(values: list[int | None]) -> int | None:
    """The sum of the counts that are known; None when none is."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None
