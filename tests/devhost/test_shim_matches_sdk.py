"""The shim numbers tasks exactly as the SDK does, whatever order and batching results arrive in.

A fake host feeds random batches of results (activity successes and failures, timer firings)
to real orchestrators and compares, after every episode, the task ids the SDK still awaits
with the ones `replay_protocol` believes are pending.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import pytest
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.orchestrator import Orchestrator

from devhost import replay_protocol as protocol
from devhost.replay_protocol import EventType, event, utc_now

RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=3)


def fan_out_with_retries(context: df.DurableOrchestrationContext):
    first = yield context.task_all([context.call_activity_with_retry("flaky", RETRY, i) for i in range(4)]
                                   + [context.call_activity("ok", i) for i in range(3)])
    winner = yield context.task_any([context.call_activity_with_retry("flaky", RETRY, 9),
                                     context.create_timer(context.current_utc_datetime + timedelta(minutes=1))])
    try:
        last = yield context.call_activity_with_retry("always_fails", RETRY, 0)
    except Exception:
        last = "gave up"
    return [first, winner.result, last]


def nested(context: df.DurableOrchestrationContext):
    inner = [context.task_all([context.call_activity("ok", i), context.call_activity_with_retry("flaky", RETRY, i)])
             for i in range(3)]
    results = yield context.task_all(inner)
    again = yield context.call_activity("ok", len(results))
    return again


def run_sdk(fn: Any, history: list[dict[str, Any]]) -> tuple[protocol.OrchestratorResult, list[int]]:
    body = protocol.build_context(instance_id="i", history=history, input_json=None, parent_instance_id=None)
    context = DurableOrchestrationContext.from_json(body)
    try:
        result = protocol.parse_result(Orchestrator(fn).handle(context))
    except Exception as exc:
        result = protocol.parse_failure(str(exc))
    awaited = sorted(k for k, v in context.open_tasks.items() if isinstance(k, int) and v)
    return result, awaited


def outcome(kind: str, task_id: int, name: str | None, now: Any) -> dict[str, Any]:
    if kind == "timer":
        return event(EventType.TIMER_FIRED, now, TimerId=task_id)
    failing = name == "always_fails" or (name == "flaky" and random.random() < 0.5)
    if failing:
        return event(EventType.TASK_FAILED, now, TaskScheduledId=task_id, Reason="no", Details="")
    return event(EventType.TASK_COMPLETED, now, TaskScheduledId=task_id, Result=json.dumps(task_id))


@pytest.mark.parametrize("orchestrator", [fan_out_with_retries, nested])
@pytest.mark.parametrize("seed", range(25))
def test_pending_ids_match_the_sdk(orchestrator: Any, seed: int) -> None:
    random.seed(seed)
    now = utc_now()
    history = [event(EventType.ORCHESTRATOR_STARTED, now), event(EventType.EXECUTION_STARTED, now, Version="")]
    pending: list[tuple[str, int, str | None]] = []
    for _ in range(200):
        result, awaited = run_sdk(orchestrator, history)
        if result.done or result.error:
            return
        assert protocol.plan(result.actions, history).open_tasks == awaited
        for item in protocol.plan(result.actions, history).new_tasks:
            kind = EventType.TIMER_CREATED if item.kind == "timer" else EventType.TASK_SCHEDULED
            history.append(event(kind, now, event_id=item.task_id, Name=item.name))
            pending.append((item.kind, item.task_id, item.name))
        history.append(event(EventType.ORCHESTRATOR_COMPLETED, now))
        assert pending, "the orchestration waits for nothing"
        random.shuffle(pending)
        cut = random.randint(1, len(pending))
        batch, pending = pending[:cut], pending[cut:]
        history.append(event(EventType.ORCHESTRATOR_STARTED, now))
        history += [outcome(kind, task_id, name, now) for kind, task_id, name in batch]
    pytest.fail("the orchestration never finished")
