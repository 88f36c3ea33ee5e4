"""The data-request orchestrator: plan, fan out one sub-orchestration per project, then manifest or receipt."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from activities import account, manifest, projects
from dsr.categories import PROJECT_CATEGORIES, Category, Operation
from dsr.envelope import failed, merge, skipped
from dsr.layout import manifest_path
from orchestrators.calls import (
    GUARDED_CALL_TASKS,
    LoopState,
    bounded_loop,
    call_guarded,
    continued_loop,
    per_project,
)
from orchestrators.delete_flow import delete_flow
from orchestrators.export_project import export_project_orchestrator
from orchestrators.progress import now_iso, progress_status
from orchestrators.subject_flow import subject_flow

bp = df.Blueprint()

@bp.orchestration_trigger(context_name="context")
def data_request(context: df.DurableOrchestrationContext) -> Any:
    return data_request_flow(context)


def data_request_flow(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    """Input `{"request": DataRequest.to_dict(), "receivedAt"}`; output: the summary with per-category results."""
    request = context.get_input()["request"]
    if request.get("subject"):
        return (yield from subject_flow(context, request))
    if request["operation"] == Operation.DELETE:
        return (yield from delete_flow(context, request))
    return (yield from export_flow(context, request))


def export_flow(context: Any, request: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Export every requested category, then write index.html and manifest.json (last)."""
    started_at = now_iso(context)
    request_id, alias = request["requestId"], request["resource"]
    categories: list[str] = list(request["categories"])
    project_categories = [c for c in categories if c in PROJECT_CATEGORIES]
    base = {"requestId": request_id, "resource": alias}
    done: dict[str, int] = {}
    totals: dict[str, int] = {Category.ACCOUNT: 1} if Category.ACCOUNT in categories else {}
    per_category: dict[str, list[dict[str, Any]]] = {c: [] for c in categories}
    context.set_custom_status(progress_status("planning", categories, done, totals))

    if Category.ACCOUNT in categories:
        per_category[Category.ACCOUNT].append((yield from call_guarded(context, account.export_account, base)))
        done[Category.ACCOUNT] = 1

    plan = {"status": "complete", "projects": []}
    if project_categories:
        plan = yield from call_guarded(context, projects.plan_request, {**base, "projects": request.get("projects")})
        for category in project_categories:
            totals[category] = len(plan.get("projects") or [])
        if plan["status"] != "complete":
            for category in project_categories:
                per_category[category].append(plan)

    project_ids: list[str] = plan.get("projects") or []
    context.set_custom_status(progress_status("exporting", categories, done, totals))

    def progressed(projects_done: int) -> None:
        done.update({c: projects_done for c in project_categories})
        context.set_custom_status(progress_status("exporting", categories, done, totals))

    outcomes = yield from per_project(
        context, export_project_orchestrator, {**base, "categories": project_categories}, project_ids,
        on_failure=lambda pid, reason: {c: dict(failed("SubOrchestrationFailed", f"project {pid}: {reason}"))
                                        for c in project_categories},
        after_batch=progressed,
    )
    for outcome in outcomes:
        for category in project_categories:
            per_category[category].append(outcome.get(category) or dict(failed("Missing", "no result")))

    summary = {c: dict(merge(r)) if r else dict(skipped("no projects to export")) for c, r in per_category.items()}
    context.set_custom_status(progress_status("writing manifest", categories, done, totals))
    manifest_input = {**base, "startedAt": started_at, "completedAt": now_iso(context), "categories": summary}
    written = yield from _write_manifest(context, manifest_input)
    context.set_custom_status(progress_status("done", categories, done, totals))
    return {
        "requestId": request_id,
        "operation": Operation.EXPORT.value,
        "resource": alias,
        "status": "failed" if written.get("status") == "failed" else _overall(summary),
        "categories": summary,
        "missingProjects": plan.get("missing") or [],
        "manifestPath": manifest_path(request_id) if written.get("status") != "failed" else None,
        "manifest": written,
        "receiptPath": None,
        "receipt": None,
    }


def _write_manifest(context: Any, manifest_input: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """The export's file list one bounded part after the other (dsr/export/manifest_parts.py; a bounded loop:
    beyond the first parts in the sub-orchestration `{instance}:manifest`), the manifest from those parts, then
    the scratch area's removal (a failed removal leaves it to housekeeping: the export is complete)."""
    base = {"requestId": manifest_input["requestId"], "resource": manifest_input["resource"]}
    state = {"base": base, "files": [], "result": None, "done": False}
    state = yield from bounded_loop(context, manifest_part, state, manifest_parts_orchestrator, "manifest")
    if state.get("error"):
        return dict(failed(state["error"]["code"], state["error"]["message"]))
    if state["result"] is not None:
        return state["result"]
    written = yield from call_guarded(context, manifest.write_manifest, {**manifest_input, "parts": state["files"]})
    if written.get("status") != "failed":  # a scratch area left by a failure goes with the export (housekeeping)
        yield from call_guarded(context, manifest.clear_scratch, base)
    return written


@bp.orchestration_trigger(context_name="context")
def manifest_parts_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """The parts of an export's file list beyond those its data_request listed, a generation at a time."""
    return continued_loop(context, manifest_part)


def manifest_part(context: Any, state: LoopState) -> Generator[Any, Any, tuple[LoopState, int]]:
    """One loop unit: one part of the file list; a part that failed for good ends the loop with its `result`."""
    part = {**state["base"], "part": len(state["files"])}
    listed = yield from call_guarded(context, manifest.list_manifest_part, part)
    if listed["status"] != "complete":
        return {**state, "result": listed, "done": True}, GUARDED_CALL_TASKS
    return {**state, "files": [*state["files"], listed["files"]], "done": listed["done"]}, GUARDED_CALL_TASKS


def _overall(summary: dict[str, dict[str, Any]]) -> str:
    return "completed_with_errors" if any(r["status"] == "failed" for r in summary.values()) else "completed"


