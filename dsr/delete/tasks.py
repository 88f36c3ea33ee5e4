"""One function per delete activity: `(job, payload) -> result`, so each activity binding is a one-liner."""

from __future__ import annotations

from typing import Any

from dsr import layout
from dsr.cancellation import DeleteCancelled, GuardedClient, guard, is_cancelled
from dsr.delete import steps
from dsr.delete.account import delete_account_category
from dsr.delete.order import Step
from dsr.delete.plan import plan_project
from dsr.delete.receipt import build_receipt
from dsr.delete.receipt_store import issue_receipt, receipts_container
from dsr.delete.verify import CANCELLED_MAX_WAIT, DEFAULT_MAX_WAIT, verify_project
from dsr.envelope import CategoryResult, complete, failed
from dsr.job import Job
from dsr.layout import receipt_path
from dsr.signing import signer_for
from dsr.times import parse_time

Payload = dict[str, Any]

def _older_than(payload: Payload) -> Any:
    return parse_time(payload["olderThan"]) if payload.get("olderThan") else None


def plan(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "plan": ProjectPlan}`: what deleting the categories would remove."""
    counts = plan_project(job.client, job.project_id, payload["categories"], older_than=_older_than(payload))
    return {**complete(1), "plan": counts}


def step(job: Job, payload: Payload) -> dict[str, Any]:
    """One bounded call of one delete step: `{"status", "count", "error", "step", "deleted", "calls", "done"}`.

    Every destructive call first checks the request's cancellation marker; a cancelled request gets a
    `RequestCancelled` error instead of further deletes."""
    name = Step(payload["step"])
    client: Any = GuardedClient(job.client, guard(job.sink.container, job.request_id))
    try:
        result = steps.run_step(client, job.project_id, name, older_than=_older_than(payload))
    except DeleteCancelled as exc:
        return {**failed(exc.code, "the request was cancelled; no further deletes were made"), "step": str(name),
                "deleted": 0, "calls": 0, "done": False}
    return {**complete(result["deleted"]), **result}


def verify(job: Job, payload: Payload) -> dict[str, Any]:
    """`{"status", "count", "error", "verification": Verification}`: what is left after deleting."""
    # After a cancel the images never sent for deletion stay: wait only for the 202s sent before it to land.
    wait = CANCELLED_MAX_WAIT if is_cancelled(job.sink.container, job.request_id) else DEFAULT_MAX_WAIT
    checked = verify_project(job.client, job.project_id, payload["categories"], older_than=_older_than(payload),
                             max_wait=wait)
    return {**complete(1), "verification": checked}


def account(job: Job, payload: Payload) -> CategoryResult:
    """Delete and purge the account if enabled; a request cancelled meanwhile deletes (or purges) nothing more."""
    try:
        return delete_account_category(job.resource, check=guard(job.sink.container, job.request_id))
    except DeleteCancelled as exc:
        return failed(exc.code, "the request was cancelled before the account was deleted (or purged)")


def receipt(job: Job, payload: Payload) -> dict[str, Any]:
    """Build, sign (ES256, dsr/signing.py) and write receipts/{requestId}.json once; `{"path", "clean"}` (the
    receipt itself stays in the blob: it lists every project, too large for orchestration history)."""
    document = build_receipt(
        **job.run_fields(payload),
        plans=payload["plans"],
        verifications=payload["verifications"],
        results=payload.get("results"),
        missing_projects=payload.get("missingProjects", ()),
        older_than=payload.get("olderThan"),
    )
    signed = issue_receipt(receipts_container(job.settings), document, signer_for(job.settings))
    return {"path": receipt_path(job.request_id), "clean": bool(signed["verification"]["clean"])}  # small: history


def write_plan(job: Job, payload: Payload) -> dict[str, Any]:
    """A dry run's per-project plan, `{requestId}/delete-plan.json`: `{"status", "count", "error", "path"}`."""
    document = {"requestId": job.request_id, "resource": job.alias, "categories": payload["categories"],
                "projects": payload["plans"], "missingProjects": payload.get("missingProjects", [])}
    job.sink.write_json(layout.DELETE_PLAN, document)
    return {**complete(len(payload["plans"])), "path": layout.plan_path(job.request_id)}
