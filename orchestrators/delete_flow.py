"""The delete branch of the data-request orchestrator: projects in parallel, then account, then the receipt.

A request ends `Completed` when verification found nothing left (or it was cancelled: its receipt says what
was deleted before); otherwise the receipt still records what remains and the orchestration fails, saying so.
Custom status holds progress only (Azure fails an orchestration whose custom status passes 16 KB of UTF-16
JSON); the output holds the per-category summary and points to the receipt (or, for a dry run, the plan
blob) for per-project detail, so both stay small whatever the number of projects.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from activities import account, deletion, projects, receipt
from dsr.categories import Category, Operation
from dsr.delete import results as delete_results
from dsr.delete.order import PROJECT_DELETE_CATEGORIES
from dsr.delete.scope import prediction_cutoff
from dsr.envelope import failed, skipped
from dsr.times import as_utc, iso_utc
from orchestrators.calls import call_guarded, per_project
from orchestrators.delete_project import delete_project_orchestrator
from orchestrators.progress import now_iso, progress_status

MAX_STATUS_MESSAGE = 200  # error messages in the custom status of a failed request (8 categories: < 16 KB)


class VerificationFailed(RuntimeError):
    """Something requested for deletion is still there after deleting; the receipt says what."""


@dataclass
class _Progress:
    """The custom status's per-category progress (projects done of projects planned), and the phase it shows."""

    context: Any
    categories: list[str]
    done: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def show(self, phase: str, **extra: Any) -> None:
        self.context.set_custom_status({**progress_status(phase, self.categories, self.done, self.totals), **extra})


def delete_flow(context: Any, request: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Plan every project, delete in order (unless dry run), verify, and sign a receipt."""
    started_at = now_iso(context)
    dry_run = bool(request.get("dryRun"))
    categories: list[str] = list(request["categories"])
    project_categories = [c for c in categories if c in PROJECT_DELETE_CATEGORIES]
    older_than = _cutoff(context, request.get("predictionsOlderThanDays"))
    base = {"requestId": request["requestId"], "resource": request["resource"]}
    progress = _Progress(context, categories)
    phase = "planning" if dry_run else "deleting"
    progress.show("planning")

    plan: dict[str, Any] = {"status": "complete", "projects": [], "missing": []}
    if project_categories:
        plan = yield from call_guarded(context, projects.plan_request, {**base, "projects": request.get("projects")})
    project_ids: list[str] = plan.get("projects") or []
    progress.totals.update({c: len(project_ids) for c in project_categories})

    progress.show(phase)
    job = {**base, "categories": project_categories, "dryRun": dry_run, "olderThan": older_than}

    def progressed(projects_done: int) -> None:
        progress.done.update({c: projects_done for c in project_categories})
        progress.show(phase)

    outcomes = yield from per_project(
        context, delete_project_orchestrator, job, project_ids,
        on_failure=lambda pid, reason: _project_error(pid, "SubOrchestrationFailed", f"project {pid}: {reason}"),
        after_batch=progressed,
        stop=_cancelled,
        on_skipped=lambda pid: _project_error(pid, delete_results.CANCELLED, "cancelled before it was started"),
    )
    account_result = yield from _account(context, base, categories, dry_run=dry_run, cancelled=_cancelled(outcomes))
    results = delete_results.step_results(categories, outcomes, plan, account_result)
    plans = [o["plan"] for o in outcomes if o.get("plan")]
    verifications = [o["verification"] for o in outcomes if o.get("verification")]

    if dry_run:
        written = yield from call_guarded(context, deletion.write_delete_plan, {
            **base, "categories": categories, "plans": plans, "missingProjects": plan.get("missing") or []})
        progress.show("done")
        return _output(request, "dry_run", delete_results.planned(categories, plans, results), plan,
                       details_path=written.get("path"))

    progress.show("signing receipt")
    written = yield from call_guarded(context, receipt.write_receipt, {
        **base, "categories": categories, "startedAt": started_at, "completedAt": now_iso(context),
        "plans": plans, "verifications": verifications,
        "results": results, "missingProjects": plan.get("missing") or [], "olderThan": older_than,
    })
    return _verified_output(request, progress, plan, plans, verifications, results, written)


def _account(context: Any, base: dict[str, Any], categories: list[str], *, dry_run: bool,
             cancelled: bool) -> Generator[Any, Any, dict[str, Any] | None]:
    """The account category's result: deleted after the projects, unless not asked for, a dry run or cancelled."""
    if Category.ACCOUNT not in categories:
        return None
    if dry_run:
        return dict(skipped("dry run: the account would be deleted only if enabled for the resource", code="DryRun"))
    if cancelled:
        return dict(failed(delete_results.CANCELLED, "cancelled before the account was deleted"))
    return (yield from call_guarded(context, account.delete_account, base))


def _verified_output(request: dict[str, Any], progress: _Progress, plan: dict[str, Any], plans: list[Any],
                     verifications: list[dict[str, Any]], results: dict[str, Any],
                     written: dict[str, Any]) -> dict[str, Any]:
    """The output once the receipt is written; raises VerificationFailed (with a bounded result in the custom
    status) when something is left or could not be verified."""
    categories = progress.categories
    summary = delete_results.outcomes(categories, plans, verifications, results)
    checked = {v["projectId"]: bool(v.get("clean")) for v in verifications}
    clean = (plan["status"] == "complete" and bool(written.get("path"))
             and all(checked.get(p["projectId"]) for p in plans) and not any(o["after"] for o in summary.values()))
    output = _output(request, delete_results.overall(summary, clean=clean), summary, plan,
                     receipt_path=written.get("path"))
    if output["status"] == "verification_failed":  # fail, with a bounded result for the status API
        progress.show("done", result=bounded(output))
        left = {c: o["after"] for c, o in summary.items() if o["after"]}
        why = left or ("no receipt: " + str((written.get("error") or {}).get("message")) if not written.get("path")
                       else "a project could not be verified")
        raise VerificationFailed(f"verification found data left after deleting: {why}")
    progress.show("done")
    return output


def _cancelled(outcomes: list[dict[str, Any]]) -> bool:
    return any(e.get("code") == delete_results.CANCELLED for o in outcomes for e in o.get("errors") or [])


def _project_error(pid: str, code: str, message: str) -> dict[str, Any]:
    return {"projectId": pid, "plan": None, "verification": None, "steps": {},
            "errors": [dict(failed(code, message))["error"]]}


def _cutoff(context: Any, days: Any) -> str | None:
    """The predictions cut-off of `predictionsOlderThanDays`, from the orchestration's replay-safe clock."""
    if days is None:
        return None
    return iso_utc(prediction_cutoff(as_utc(context.current_utc_datetime), int(days)), timespec="microseconds")


def bounded(output: dict[str, Any]) -> dict[str, Any]:
    """The output for the custom status: summary and links, messages shortened (no list of project ids)."""
    def short(outcome: dict[str, Any]) -> dict[str, Any]:
        error = outcome.get("error")
        return {**outcome, "error": {**error, "message": str(error.get("message"))[:MAX_STATUS_MESSAGE]}
                if error else None}
    return {**{k: v for k, v in output.items() if k not in ("missingProjects", "modelImpact")},
            "categories": {c: short(o) for c, o in output["categories"].items()}}


def _output(request: dict[str, Any], status: str, categories: dict[str, Any], plan: dict[str, Any], *,
            receipt_path: str | None = None, details_path: str | None = None) -> dict[str, Any]:
    return {
        "requestId": request["requestId"],
        "operation": Operation.DELETE.value,
        "resource": request["resource"],
        "dryRun": bool(request.get("dryRun")),
        "status": status,
        "categories": categories,
        "missingProjects": plan.get("missing") or [],
        "manifestPath": None,
        "receiptPath": receipt_path,
        "detailsPath": details_path,
    }
