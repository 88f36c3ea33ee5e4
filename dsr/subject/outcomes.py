"""A subject request's results from its per-project outcomes (pure: the orchestrator calls these on replay).

A project's outcome is small: `{resource, projectId, exists, images, copies, impacted, predictions, errors,
results? (export), deleted?, remaining?, clean? (delete)}`. `images` counts distinct images, `copies` the
workspace plus every iteration's snapshot (what DeleteImages empties and what verification counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dsr.categories import Category, Operation
from dsr.delete import results as delete_results
from dsr.envelope import ErrorInfo, complete, failed, merge, skipped
from dsr.failures import failure_reason
from dsr.layout import manifest_path

IMPACT_IN_OUTPUT = 20  # model impact entries the output (history) carries; the receipt or plan holds all


def resource_plan(alias: str, ok: bool, result: Any) -> dict[str, Any]:
    """One resource's projects (`plan_request`), or why it could not be searched."""
    if not ok:
        return {"resource": alias, "projects": [], "missing": [],
                "error": ErrorInfo(code="ActivityFailed", message=failure_reason(str(result)))}
    error = result.get("error") if result.get("status") != "complete" else None
    return {"resource": alias, "projects": list(result.get("projects") or []),
            "missing": list(result.get("missing") or []), "error": error}


def failed_outcome(child: Mapping[str, Any], code: str, message: str) -> dict[str, Any]:
    return {"resource": child["resource"], "projectId": child["projectId"], "exists": None,
            "errors": [dict(failed(code, message))["error"]]}


def cancelled(outcomes: Sequence[Mapping[str, Any]]) -> bool:
    return any(e.get("code") == delete_results.CANCELLED for o in outcomes for e in o.get("errors") or [])


def _first_error(outcomes: Sequence[Mapping[str, Any]], category: str) -> ErrorInfo | None:
    """The first error that concerns a category: its step's, or one without a step (search, verification)."""
    for outcome in outcomes:
        for error in outcome.get("errors") or []:
            if error.get("step") in (None, category) or error.get("code") == delete_results.CANCELLED:
                return ErrorInfo(code=str(error.get("code")), message=str(error.get("message")))
    return None


def export_categories(categories: Sequence[str], outcomes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per category, the merged export results of every project (a project whose search failed fails them)."""
    summary: dict[str, Any] = {}
    for category in categories:
        results = []
        for outcome in outcomes:
            if outcome.get("errors"):
                error = outcome["errors"][0]
                results.append(failed(str(error.get("code")), f"{outcome['resource']}/{outcome['projectId']}: "
                                                             f"{error.get('message')}"))
            elif category in (outcome.get("results") or {}):
                result = outcome["results"][category]
                results.append(complete(0) if result.get("status") == "skipped" else result)
        summary[category] = dict(merge(results)) if results else dict(skipped("no projects were searched"))
    return summary


def export_status(summary: Mapping[str, Mapping[str, Any]], written: Mapping[str, Any]) -> str:
    if written.get("status") == "failed" or not written.get("path"):
        return "failed"
    return "completed_with_errors" if any(r["status"] == "failed" for r in summary.values()) else "completed"


def _before(category: str, outcome: Mapping[str, Any]) -> int | None:
    return outcome.get("copies") if category == Category.IMAGES else outcome.get("predictions")


def _after(category: str, outcome: Mapping[str, Any]) -> int | None:
    remaining = outcome.get("remaining")
    return None if remaining is None else remaining.get(category)


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def planned_categories(categories: Sequence[str], outcomes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A dry run: what each category would remove (`count`, `before`), nothing deleted."""
    summary = {}
    for category in categories:
        before = _sum([_before(category, o) for o in outcomes])
        error = _first_error(outcomes, category)
        result = dict(failed(error["code"], error["message"])) if error else dict(complete(0))
        outcome = delete_results.category_outcome(before=before, after=None, result=result)
        summary[category] = {**outcome, "count": before or 0, "after": None}
    return summary


def delete_categories(categories: Sequence[str], outcomes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per category: counted before (the search) and after (verification); failed when anything is left."""
    summary = {}
    for category in categories:
        error = _first_error(outcomes, category)
        result = dict(failed(error["code"], error["message"])) if error else dict(complete(0))
        before = _sum([_before(category, o) for o in outcomes])
        after = _sum([_after(category, o) for o in outcomes])
        summary[category] = dict(delete_results.category_outcome(before=before, after=after, result=result))
    return summary


def delete_status(summary: Mapping[str, Mapping[str, Any]], outcomes: Sequence[Mapping[str, Any]],
                  written: Mapping[str, Any]) -> str:
    """cancelled, completed (verified clean, receipt written) or verification_failed."""
    clean = (bool(written.get("path")) and not any(o.get("errors") for o in outcomes)
             and all(o.get("clean") or o.get("exists") is False for o in outcomes)
             and not any(s.get("after") for s in summary.values()))
    return delete_results.overall(summary, clean=clean)


def left(summary: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    return {c: int(s["after"]) for c, s in summary.items() if s.get("after")}


def searched(outcomes: Sequence[Mapping[str, Any]], resources: Sequence[str]) -> dict[str, Any]:
    """How far the search went, in counts."""
    found = [o for o in outcomes if o.get("images") or o.get("predictions")]
    return {"resources": len(resources), "projects": len(outcomes), "projectsWithMatches": len(found),
            "projectsFailed": sum(1 for o in outcomes if o.get("errors") and o.get("exists") is None),
            "images": sum(int(o.get("images") or 0) for o in outcomes),
            "imageCopies": sum(int(o.get("copies") or 0) for o in outcomes),
            "modelsAffected": sum(int(o.get("impacted") or 0) for o in outcomes)}


def output(request: Mapping[str, Any], status: str, summary: Mapping[str, Any],
           outcomes: Sequence[Mapping[str, Any]], written: Mapping[str, Any]) -> dict[str, Any]:
    """The orchestration's output: summary, counts, a bounded excerpt of the model impact, links."""
    export = request["operation"] == Operation.EXPORT
    path = written.get("path")
    impact = list(written.get("modelImpact") or [])
    return {
        "requestId": request["requestId"],
        "operation": request["operation"],
        "resource": request["resource"],
        "resources": list(request["resources"]),
        "subject": dict(request["subject"].get("summary") or {}),
        "dryRun": bool(request.get("dryRun")),
        "status": status,
        "categories": dict(summary),
        "searched": searched(outcomes, request["resources"]),
        "modelImpact": impact[:IMPACT_IN_OUTPUT],
        "modelImpactTotal": int(written.get("modelImpactTotal") or len(impact)),
        "missingProjects": list(written.get("missingProjects") or []),
        "manifestPath": manifest_path(request["requestId"]) if export and path else None,
        "receiptPath": path if not export and not request.get("dryRun") else None,
        "detailsPath": path if request.get("dryRun") else None,
    }
