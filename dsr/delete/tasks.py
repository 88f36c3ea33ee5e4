"""One function per delete activity: `(job, payload) -> result`, so each activity binding is a one-liner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from customvision import TrainingClient
from dsr.delete import steps
from dsr.delete.account import delete_account_category
from dsr.delete.order import Step
from dsr.delete.plan import plan_project
from dsr.delete.scope import parse_time
from dsr.delete.verify import verify_project
from dsr.envelope import CategoryResult, complete
from dsr.job import Job
from dsr.receipt import build_receipt, issue_receipt, receipt_path, receipts_container
from dsr.signing import signer_for

Payload = dict[str, Any]

_STEPS: dict[Step, Callable[..., steps.StepResult]] = {
    Step.PREDICTIONS: steps.delete_predictions,
    Step.UNPUBLISH: steps.unpublish_iterations,
    Step.IMAGES: steps.delete_images,
    Step.TAGS: steps.delete_tags,
    Step.ITERATIONS: steps.delete_iterations,
    Step.PROJECT: steps.delete_project,
}


def _older_than(payload: Payload) -> Any:
    return parse_time(payload["olderThan"]) if payload.get("olderThan") else None


def plan(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "plan": ProjectPlan}`: what deleting the categories would remove."""
    counts = plan_project(job.client, job.project_id, payload["categories"], older_than=_older_than(payload))
    return {**complete(1), "plan": counts}


def step(job: Job, payload: Payload) -> dict[str, Any]:
    """One bounded call of one delete step: `{"status", "count", "error", "step", "deleted", "calls", "done"}`."""
    name = Step(payload["step"])
    options: dict[str, Any] = {}
    if name is Step.PREDICTIONS:
        options["older_than"] = _older_than(payload)
    client: TrainingClient = job.client
    result = _STEPS[name](client, job.project_id, **options)
    return {**complete(result["deleted"]), **result}


def verify(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "verification": Verification}`: what is left after deleting."""
    checked = verify_project(job.client, job.project_id, payload["categories"], older_than=_older_than(payload))
    return {**complete(1), "verification": checked}


def account(job: Job, payload: Payload) -> CategoryResult:
    return delete_account_category(job.resource)


def receipt(job: Job, payload: Payload) -> dict[str, Any]:
    """Build, sign (ES256, dsr/signing.py) and write receipts/{requestId}.json once; returns the signed receipt."""
    document = build_receipt(
        request_id=job.request_id,
        resource=job.alias,
        categories=payload["categories"],
        started_at=payload["startedAt"],
        completed_at=payload["completedAt"],
        plans=payload["plans"],
        verifications=payload["verifications"],
        results=payload.get("results"),
        missing_projects=payload.get("missingProjects", ()),
        older_than=payload.get("olderThan"),
    )
    signed = issue_receipt(receipts_container(job.settings), document, signer_for(job.settings))
    return {"path": receipt_path(job.request_id), "receipt": signed}
