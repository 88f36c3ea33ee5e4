"""The subject branch of the data-request orchestrator: one person, every project of every selected resource.

Plan (the projects of each resource), fan out one sub-orchestration per resource x project (PROJECT_BATCH at a
time), then write what a person and an auditor read: an export's search report, index.html and manifest, a dry
run's plan, or a delete's signed receipt with the models trained on the deleted images. History holds ids and
counts only: the selector stays in its blob, per-project findings in the scratch area, and the output carries
a bounded excerpt of the model impact (the receipt or plan holds all of it).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from activities import projects, subject
from activities.retry import ACTIVITY_RETRY
from dsr.categories import Operation
from dsr.delete import results as delete_results
from dsr.subject import outcomes as summarize
from orchestrators.calls import call_guarded, fan_out, gather
from orchestrators.delete_flow import VerificationFailed, bounded
from orchestrators.progress import now_iso, progress_status
from orchestrators.subject_project import subject_project_orchestrator


def subject_flow(context: Any, request: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """Input request: `{requestId, operation, resource, resources, projects, categories, dryRun, subject: ref}`."""
    started_at = now_iso(context)
    categories: list[str] = list(request["categories"])
    deleting = request["operation"] == Operation.DELETE and not request.get("dryRun")
    done: dict[str, int] = {}
    totals: dict[str, int] = {}
    context.set_custom_status(progress_status("planning", categories, done, totals))
    plans = yield from plan_resources(context, request)
    children = interleaved(request, plans)
    totals.update({c: len(children) for c in categories})
    phase = "deleting" if deleting else ("exporting" if request["operation"] == Operation.EXPORT else "planning")

    def progressed(finished: int) -> None:
        done.update({c: finished for c in categories})
        context.set_custom_status(progress_status(phase, categories, done, totals))

    progressed(0)
    outcomes = yield from fan_out(
        context, subject_project_orchestrator, children, after_batch=progressed,
        on_failure=lambda child, reason: summarize.failed_outcome(child, "SubOrchestrationFailed", reason),
        stop=summarize.cancelled if deleting else lambda outcomes: False,
        on_skipped=lambda child: summarize.failed_outcome(child, delete_results.CANCELLED, "cancelled before it "
                                                                                          "was started"),
    )
    context.set_custom_status(progress_status("writing results", categories, done, totals))
    job = {"requestId": request["requestId"], "resource": request["resource"], "resources": request["resources"],
           "subject": request["subject"], "plans": plans, "outcomes": outcomes, "categories": categories,
           "startedAt": started_at}
    output = yield from finish(context, request, job, outcomes)
    if output["status"] == "verification_failed":  # fail, with a bounded result for the status API
        context.set_custom_status({**progress_status("done", categories, done, totals), "result": bounded(output)})
        raise VerificationFailed(f"verification found the subject's data left after deleting: "
                                 f"{summarize.left(output['categories']) or 'see the receipt'}")
    context.set_custom_status(progress_status("done", categories, done, totals))
    return output


def interleaved(request: dict[str, Any], plans: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """One child per resource x project, the resources taken in turn (a batch spends every resource's own rate
    budget, not one resource's after another's); instance id `{requestId}:{resource number}:{projectId}`."""
    per_resource = [[({"requestId": request["requestId"], "resource": plan["resource"], "projectId": pid,
                       "subject": request["subject"], "operation": request["operation"],
                       "dryRun": bool(request.get("dryRun"))}, f"{request['requestId']}:{number}:{pid}")
                     for pid in plan["projects"]] for number, plan in enumerate(plans)]
    longest = max((len(children) for children in per_resource), default=0)
    return [children[n] for n in range(longest) for children in per_resource if n < len(children)]


def plan_resources(context: Any, request: dict[str, Any]) -> Generator[Any, Any, list[dict[str, Any]]]:
    """The project ids of every selected resource (each planned at once); a resource that cannot be listed is
    reported with its error and searched no further."""
    aliases: list[str] = list(request["resources"])
    tasks = [context.call_activity_with_retry(projects.plan_request, ACTIVITY_RETRY, {
        "requestId": request["requestId"], "resource": alias, "projects": request.get("projects")})
        for alias in aliases]
    settled = yield from gather(context, tasks)
    return [summarize.resource_plan(alias, ok, result) for alias, (ok, result) in zip(aliases, settled, strict=True)]


def finish(context: Any, request: dict[str, Any], job: dict[str, Any],
           outcomes: list[dict[str, Any]]) -> Generator[Any, Any, dict[str, Any]]:
    """Write the export's report and manifest, the dry run's plan or the delete's receipt; the output."""
    job = {**job, "completedAt": now_iso(context)}
    if request["operation"] == Operation.EXPORT:
        summary = summarize.export_categories(job["categories"], outcomes)
        written = yield from call_guarded(context, subject.write_subject_export, {**job, "summary": summary})
        return summarize.output(request, summarize.export_status(summary, written), summary, outcomes, written)
    if request.get("dryRun"):
        summary = summarize.planned_categories(job["categories"], outcomes)
        written = yield from call_guarded(context, subject.write_subject_plan, job)
        return summarize.output(request, "dry_run", summary, outcomes, written)
    summary = summarize.delete_categories(job["categories"], outcomes)
    written = yield from call_guarded(context, subject.write_subject_receipt, {**job, "summary": summary})
    status = summarize.delete_status(summary, outcomes, written)
    return summarize.output(request, status, summary, outcomes, written)
