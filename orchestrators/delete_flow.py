"""The delete branch of the data-request orchestrator: projects in parallel, then account, then the receipt.

A request ends `Completed` only when verification found nothing left; otherwise the receipt still records
what remains and the orchestration fails, saying so.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from activities import account, projects, receipt
from dsr.categories import Category, Operation
from dsr.delete.account import exported_models_result
from dsr.delete.order import steps_for
from dsr.delete.plan import category_counts
from dsr.envelope import complete, failed, skipped
from orchestrators.calls import call_guarded, per_project
from orchestrators.delete_project import delete_project_orchestrator
from orchestrators.progress import now_iso, progress_status

PROJECT_CATEGORIES = {c.value for c in Category} - {Category.ACCOUNT, Category.EXPORTED_MODELS}


class VerificationFailed(RuntimeError):
    """Something requested for deletion is still there after deleting; the receipt says what."""


def delete_flow(context: Any, request: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Plan every project, delete in order (unless dry run), verify, and sign a receipt."""
    started_at = now_iso(context)
    request_id, alias, dry_run = request["requestId"], request["resource"], bool(request.get("dryRun"))
    categories: list[str] = list(request["categories"])
    project_categories = [c for c in categories if c in PROJECT_CATEGORIES]
    older_than = _cutoff(context, request.get("predictionsOlderThanDays"))
    base = {"requestId": request_id, "resource": alias}
    done: dict[str, int] = {}
    totals: dict[str, int] = {}
    phase = "planning" if dry_run else "deleting"
    context.set_custom_status(progress_status("planning", categories, done, totals))

    plan: dict[str, Any] = {"status": "complete", "projects": [], "missing": []}
    if project_categories:
        plan = yield from call_guarded(context, projects.plan_request, {**base, "projects": request.get("projects")})
    project_ids: list[str] = plan.get("projects") or []
    totals.update({c: len(project_ids) for c in project_categories})

    context.set_custom_status(progress_status(phase, categories, done, totals))
    job = {**base, "categories": project_categories, "dryRun": dry_run, "olderThan": older_than}

    def progressed(projects_done: int) -> None:
        done.update({c: projects_done for c in project_categories})
        context.set_custom_status(progress_status(phase, categories, done, totals))

    outcomes = yield from per_project(
        context, delete_project_orchestrator, job, project_ids,
        on_failure=lambda pid, exc: {"projectId": pid, "plan": None, "verification": None, "steps": {},
                                     "errors": [dict(failed("SubOrchestrationFailed", str(exc)))["error"]]},
        after_batch=progressed,
    )

    account_result: dict[str, Any] | None = None
    if Category.ACCOUNT in categories:
        account_result = (
            dict(skipped("dry run: the account would be deleted only if enabled for the resource", code="DryRun"))
            if dry_run else (yield from call_guarded(context, account.delete_account, base))
        )
    results = _category_results(categories, outcomes, plan, account_result)
    plans = [o["plan"] for o in outcomes if o.get("plan")]

    if dry_run:
        context.set_custom_status(progress_status("done", categories, done, totals))
        return _output(request, "dry_run", _planned(categories, plans, results), plan, plans=plans)

    context.set_custom_status(progress_status("signing receipt", categories, done, totals))
    written = yield from call_guarded(context, receipt.write_receipt, {
        **base, "categories": categories, "startedAt": started_at, "completedAt": now_iso(context),
        "plans": plans, "verifications": [o["verification"] for o in outcomes if o.get("verification")],
        "results": results, "missingProjects": plan.get("missing") or [], "olderThan": older_than,
    })
    signed = written.get("receipt")
    clean = bool(signed and signed["verification"]["clean"]) and plan["status"] == "complete"
    summary = _from_receipt(categories, signed, results)
    output = _output(request, "completed" if clean else "verification_failed", summary, plan,
                     receipt_path=written.get("path"), receipt=signed)
    context.set_custom_status({**progress_status("done", categories, done, totals), "result": output})
    if not clean:
        left = signed["verification"]["remaining"] if signed else "unknown (no receipt)"
        raise VerificationFailed(f"verification found data left after deleting: {left}")
    return output


def _cutoff(context: Any, days: Any) -> str | None:
    if days is None:
        return None
    moment = context.current_utc_datetime - timedelta(days=int(days))
    return str(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _category_results(
    categories: list[str], outcomes: list[dict[str, Any]], plan: dict[str, Any], account_result: dict[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Per category: failed with the first error that concerns it (its steps, or the plan/verification of a
    project), else complete; the counts come from the receipt."""
    errors = [e for o in outcomes for e in o.get("errors") or []]
    results: dict[str, dict[str, Any]] = {}
    for category in categories:
        needs = {str(s) for s in steps_for([category])}
        concerning = [e for e in errors if e.get("step") is None or e["step"] in needs]
        if category == Category.ACCOUNT:
            results[category] = account_result or dict(skipped("not requested"))
        elif category == Category.EXPORTED_MODELS:
            results[category] = dict(exported_models_result(account_result))  # type: ignore[arg-type]
        elif plan["status"] != "complete":
            results[category] = {**plan, "count": 0}
        elif concerning:
            results[category] = dict(failed(concerning[0]["code"], concerning[0]["message"]))
        else:
            results[category] = dict(complete(0))
    return results


def _planned(categories: list[str], plans: list[dict[str, Any]], results: dict[str, Any]) -> dict[str, Any]:
    """Dry-run summary: what each category would remove, summed over projects."""
    summary: dict[str, Any] = {}
    for category in categories:
        counts = [category_counts(p, [category]).get(category) for p in plans] if category in PROJECT_CATEGORIES else []
        known = [n for n in counts if n is not None]
        entry = dict(results[category])
        entry.update(count=sum(known), before=sum(known) if known else None, after=None)
        summary[category] = entry
    return summary


def _from_receipt(categories: list[str], signed: dict[str, Any] | None, results: dict[str, Any]) -> dict[str, Any]:
    """Per category: status, items deleted (before - after), before/after counts, error."""
    summary: dict[str, Any] = {}
    for category in categories:
        entry = (signed or {}).get("results", {}).get(category)
        if entry is None:
            summary[category] = {**results[category], "before": None, "after": None}
            continue
        before, after = entry.get("before"), entry.get("after")
        error = results[category].get("error")
        if entry["status"] == "failed" and not error:
            error = {"code": entry.get("errorCode") or "Failed", "message": f"{after} left after deleting"}
        summary[category] = {"status": entry["status"], "count": (before or 0) - (after or 0), "error": error,
                             "before": before, "after": after}
    return summary


def _output(request: dict[str, Any], status: str, categories: dict[str, Any], plan: dict[str, Any], *,
            plans: list[dict[str, Any]] | None = None, receipt_path: str | None = None,
            receipt: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "requestId": request["requestId"],
        "operation": Operation.DELETE.value,
        "resource": request["resource"],
        "dryRun": bool(request.get("dryRun")),
        "status": status,
        "categories": categories,
        "missingProjects": plan.get("missing") or [],
        "plans": plans,
        "manifestPath": None,
        "receiptPath": receipt_path,
        "receipt": receipt,
    }
