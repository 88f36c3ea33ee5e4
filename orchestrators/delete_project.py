"""Sub-orchestrator deleting one project's requested categories: plan, ordered steps, verification."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from activities import deletion, subject
from dsr.delete.order import steps_for
from orchestrators.calls import GUARDED_CALL_TASKS, LoopState, bounded_loop, call_guarded, continued_loop

bp = df.Blueprint()

STEP_ACTIVITIES = {"delete": deletion.run_delete_step, "erase-subject": subject.erase_subject_step}  # by name: JSON

MAX_STALLS = 5  # step calls in a row that delete nothing and are not done before the step is given up
STALL_WAIT_SECONDS = 5  # the service may need a moment before deleted items stop being listed


@bp.orchestration_trigger(context_name="context")
def delete_project_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    return delete_project_flow(context)


def delete_project_flow(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    """Input `{requestId, resource, projectId, categories, dryRun, olderThan}`.

    Output `{"projectId", "plan", "verification", "errors": [ErrorInfo], "steps": {step: deleted}}`; plan and
    verification are counts only. A dry run stops after the plan.
    """
    job = context.get_input()
    base = {key: job.get(key) for key in ("requestId", "resource", "projectId", "categories", "olderThan")}
    outcome: dict[str, Any] = {"projectId": job["projectId"], "plan": None, "verification": None, "errors": [],
                               "steps": {}}
    planned = yield from call_guarded(context, deletion.plan_delete_project, base)
    if planned["status"] != "complete":
        outcome["errors"].append(planned["error"])
        return outcome
    outcome["plan"] = planned["plan"]
    if job.get("dryRun"):
        return outcome

    for step in steps_for(job["categories"]):
        deleted, error = yield from run_step(context, {**base, "step": str(step)})
        outcome["steps"][str(step)] = deleted
        if error is not None:
            outcome["errors"].append({**error, "step": str(step)})
            break  # later steps depend on this one (e.g. published iterations refuse deletion)

    checked = yield from call_guarded(context, deletion.verify_delete_project, base)
    if checked["status"] == "complete":  # without its full counts: the plan has them, history stays small
        outcome["verification"] = {k: v for k, v in checked["verification"].items() if k != "counts"}
    else:
        outcome["errors"].append(checked["error"])
    return outcome


def run_step(context: Any, payload: dict[str, Any], *, activity: str = "delete"
             ) -> Generator[Any, Any, tuple[int, dict[str, Any] | None]]:
    """Call one bounded step (STEP_ACTIVITIES[activity]) until it reports done; (items deleted, error or None). A
    bounded loop: the calls beyond the first ones run in the sub-orchestration `{instance}:delete-{step}`."""
    state = {"payload": payload, "activity": activity, "deleted": 0, "stalls": 0, "error": None, "done": False}
    state = yield from bounded_loop(context, step_call, state, delete_step_orchestrator, f"delete-{payload['step']}")
    return state["deleted"], state["error"]


@bp.orchestration_trigger(context_name="context")
def delete_step_orchestrator(context: df.DurableOrchestrationContext) -> Any:
    """The calls of one delete step beyond those its delete_project made, a generation at a time."""
    return continued_loop(context, step_call)


def step_call(context: Any, state: LoopState) -> Generator[Any, Any, tuple[LoopState, int]]:
    """One loop unit: one call of the step (and, when it deleted nothing, a wait before the next one)."""
    payload = state["payload"]
    result = yield from call_guarded(context, STEP_ACTIVITIES[state.get("activity", "delete")], payload)
    if result["status"] != "complete":
        return {**state, "error": result["error"], "done": True}, GUARDED_CALL_TASKS
    state = {**state, "deleted": state["deleted"] + result["deleted"], "done": bool(result["done"])}
    if state["done"]:
        return state, GUARDED_CALL_TASKS
    stalls = 0 if result["deleted"] else state["stalls"] + 1
    if stalls >= MAX_STALLS:
        message = f"step {payload['step']} made no progress in {MAX_STALLS} calls"
        return {**state, "error": {"code": "DeleteStalled", "message": message}, "done": True}, GUARDED_CALL_TASKS
    if result["deleted"]:
        return {**state, "stalls": stalls}, GUARDED_CALL_TASKS
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=STALL_WAIT_SECONDS))
    return {**state, "stalls": stalls}, GUARDED_CALL_TASKS + 1
