"""The pure protocol: context JSON, result/failure decoding and the shim's task numbering."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devhost.replay_protocol import (
    ActionType,
    EventType,
    UnsupportedActionError,
    build_context,
    event,
    parse_failure,
    parse_result,
    plan,
    retry_delay_ms,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RETRY = {"firstRetryIntervalInMilliseconds": 100, "maxNumberOfAttempts": 2}


def activity(name: str = "a", retry: bool = False) -> dict[str, Any]:
    action: dict[str, Any] = {"actionType": ActionType.CALL_ACTIVITY_WITH_RETRY if retry else ActionType.CALL_ACTIVITY,
                              "functionName": name, "input": "null"}
    if retry:
        action["retryOptions"] = RETRY
    return action


def when(kind: ActionType, *children: dict[str, Any]) -> dict[str, Any]:
    return {"actionType": kind, "compoundActions": list(children)}


def started() -> list[dict[str, Any]]:
    return [event(EventType.ORCHESTRATOR_STARTED, NOW), event(EventType.EXECUTION_STARTED, NOW, Name="o")]


def scheduled(task_id: int) -> dict[str, Any]:
    return event(EventType.TASK_SCHEDULED, NOW, event_id=task_id, Name="a")


def done(task_id: int) -> dict[str, Any]:
    return event(EventType.TASK_COMPLETED, NOW, TaskScheduledId=task_id, Result="1")


def failed(task_id: int) -> dict[str, Any]:
    return event(EventType.TASK_FAILED, NOW, TaskScheduledId=task_id, Reason="x", Details="")


def fired(timer_id: int) -> dict[str, Any]:
    return event(EventType.TIMER_FIRED, NOW, TimerId=timer_id)


def test_context_marks_only_events_before_the_last_episode_as_played() -> None:
    history = [*started(), scheduled(0), event(EventType.ORCHESTRATOR_STARTED, NOW), done(0)]
    body = json.loads(build_context(instance_id="i", history=history, input_json='"{\\"a\\": 1}"',
                                    parent_instance_id=None))
    assert [e["IsPlayed"] for e in body["history"]] == [True, True, True, False, False]
    assert body["input"] == '{"a": 1}' and body["isReplaying"] and body["upperSchemaVersion"] == 1


def test_first_episode_schedules_the_fan_out_in_order() -> None:
    result = plan([when(ActionType.WHEN_ALL, activity("x"), activity("y"))], started())
    assert [(s.task_id, s.name) for s in result.new_tasks] == [(0, "x"), (1, "y")]


def test_already_scheduled_tasks_are_not_scheduled_again() -> None:
    actions = [activity(), activity()]
    assert plan(actions, [*started(), scheduled(0)]).new_tasks == []
    result = plan(actions, [*started(), scheduled(0), done(0)])
    assert [s.task_id for s in result.new_tasks] == [1]


def test_retry_failure_gets_a_timer_then_a_new_attempt_with_fresh_ids() -> None:
    actions = [when(ActionType.WHEN_ALL, activity(retry=True))]
    history = [*started(), scheduled(0), failed(0)]
    first = plan(actions, history)
    assert [(s.task_id, s.kind, s.delay_ms) for s in first.new_tasks] == [(1, "timer", 100.0)]
    history += [event(EventType.TIMER_CREATED, NOW, event_id=1), fired(1)]
    second = plan(actions, history)
    assert [(s.task_id, s.kind) for s in second.new_tasks] == [(2, "activity")]


def test_retry_exhaustion_waits_for_the_last_timer_then_fails() -> None:
    actions = [activity(retry=True), activity("after")]
    history = [*started(), scheduled(0), failed(0), event(EventType.TIMER_CREATED, NOW, event_id=1), fired(1),
               scheduled(2), failed(2)]
    assert [(s.task_id, s.kind) for s in plan(actions, history).new_tasks] == [(3, "timer")]
    history += [event(EventType.TIMER_CREATED, NOW, event_id=3), fired(3)]
    # the retry task failed; the orchestrator moved on (caught it) and its next task gets id 4
    assert [(s.task_id, s.name) for s in plan(actions, history).new_tasks] == [(4, "after")]


def test_when_any_resolves_on_first_child_and_later_actions_follow() -> None:
    timer = {"actionType": ActionType.CREATE_TIMER, "fireAt": "2026-01-01T00:10:00.000000Z", "isCanceled": True}
    actions = [when(ActionType.WHEN_ANY, activity(), timer), activity("next")]
    history = [*started(), scheduled(0), event(EventType.TIMER_CREATED, NOW, event_id=1), done(0)]
    result = plan(actions, history)
    assert [(s.task_id, s.name) for s in result.new_tasks] == [(2, "next")]
    assert result.cancelled_timers == [1]


def test_external_event_completes_a_waiter_or_is_buffered() -> None:
    wait = {"actionType": ActionType.WAIT_FOR_EXTERNAL_EVENT, "externalEventName": "go"}
    raised = event(EventType.EVENT_RAISED, NOW, Name="go", Input="1")
    assert [s.name for s in plan([wait, activity("then")], [*started(), raised]).new_tasks] == ["then"]


def test_continue_as_new_and_unsupported_actions() -> None:
    can = {"actionType": ActionType.CONTINUE_AS_NEW, "input": "5"}
    result = plan([activity(), can], [*started(), scheduled(0), done(0)])
    assert result.continue_as_new and result.continue_input == "5"
    with pytest.raises(UnsupportedActionError, match="CALL_HTTP"):
        plan([{"actionType": ActionType.CALL_HTTP}], started())


def test_result_and_failure_decoding() -> None:
    ok = parse_result('{"isDone": true, "schemaVersion": 1, "actions": [[]], "output": [1], "customStatus": "s"}')
    assert (ok.done, ok.output, ok.custom_status, ok.error) == (True, [1], "s", None)
    boom = parse_failure('boom\n\n$OutOfProcData$:{"isDone": false, "actions": [[]], "error": "boom"}')
    assert boom.error == "boom"
    assert parse_failure("plain crash").error == "plain crash"


def test_retry_delay_honours_backoff_and_cap() -> None:
    options = {"firstRetryIntervalInMilliseconds": 100, "backoffCoefficient": 2, "maxRetryIntervalInMilliseconds": 300}
    assert [retry_delay_ms(options, n) for n in (1, 2, 3)] == [100, 200, 300]
