"""Sub-orchestrator of one data subject in one project of one resource: find, then export or erase, then verify.

Its input and output are ids and counts only: the selector stays in its blob (each activity reads it through the
input's `subject` reference), the per-set counts and the trained iterations found go to the scratch area.
Export reuses the images and predictions fan-outs of a whole-project export (the activities list only the
subject's images when the payload names a subject); erase runs the delete's bounded steps until done.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from activities import subject
from dsr.categories import Category, Operation
from dsr.envelope import complete, skipped
from orchestrators.calls import call_guarded
from orchestrators.delete_project import run_step
from orchestrators.export_project import export_images, export_predictions

bp = df.Blueprint()

NOTHING_FOUND = "NoMatches"  # a project searched where the subject has nothing: nothing to export


@bp.orchestration_trigger(context_name="context")
def subject_project_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    return subject_project_flow(context)


def subject_project_flow(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    """Input `{requestId, resource, projectId, subject: SubjectRef, operation, dryRun}`; output: the outcome."""
    job = context.get_input()
    base = {key: job[key] for key in ("requestId", "resource", "projectId", "subject")}
    found = yield from call_guarded(context, subject.find_subject, base)
    outcome: dict[str, Any] = {"resource": job["resource"], "projectId": job["projectId"], "errors": [],
                               **{k: found.get(k) for k in ("exists", "images", "copies", "impacted", "predictions")}}
    if found["status"] != "complete":
        outcome["errors"].append(found["error"])
        return outcome
    if job["operation"] == Operation.EXPORT:
        outcome["results"] = yield from export_found(context, base, found)
        return outcome
    if job.get("dryRun"):
        return outcome
    yield from erase_found(context, base, found, outcome)
    return outcome


def export_found(context: Any, base: dict[str, Any], found: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
    """The subject's images (and predictions, when selected) of this project, with the project and its tags."""
    results: dict[str, Any] = {}
    if found.get("images"):
        results[Category.IMAGES] = yield from export_images(context, base)
        held = yield from call_guarded(context, subject.export_subject_project, base)
        if held["status"] != "complete" and results[Category.IMAGES]["status"] == "complete":
            results[Category.IMAGES] = held
    else:
        results[Category.IMAGES] = dict(skipped("none of the subject's images are in this project", code=NOTHING_FOUND))
    if found.get("predictions") is not None:
        results[Category.PREDICTIONS] = (
            (yield from export_predictions(context, base)) if found["predictions"] else dict(complete(0)))
    return {str(k): v for k, v in results.items()}


def erase_found(context: Any, base: dict[str, Any], found: dict[str, Any],
                outcome: dict[str, Any]) -> Generator[Any, Any, None]:
    """The subject's steps in the delete order (predictions, images), each until done; then the search again."""
    outcome["deleted"] = {}
    if found.get("copies") or found.get("images") or found.get("predictions"):  # else only the search is repeated
        for step in found.get("steps") or []:
            deleted, error = yield from run_step(context, {**base, "step": step}, activity="erase-subject")
            outcome["deleted"][step] = deleted
            if error is not None:
                outcome["errors"].append({**error, "step": step})
                break
    checked = yield from call_guarded(context, subject.verify_subject, base)
    if checked["status"] == "complete":
        outcome["remaining"] = {"images": checked["images"], "predictions": checked["predictions"]}
        outcome["clean"] = checked["clean"]
    else:
        outcome["errors"].append(checked["error"])
