"""The replay loop end to end in-process: the real SDK's orchestrators against the engine and a temp store."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df

from devhost.harness import LocalDurableHost, output_of
from devhost.indexer import index
from devhost.replay_protocol import EventType

app = df.DFApp()
ATTEMPTS: dict[str, int] = {}
FAST_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=20, max_number_of_attempts=3)


@app.activity_trigger(input_name="payload")
def echo(payload: Any) -> Any:
    return payload


@app.activity_trigger(input_name="key")
def fails_until_third(key: str) -> str:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] < 3:
        raise RuntimeError(f"attempt {ATTEMPTS[key]}")
    return f"{key} ok"


@app.activity_trigger(input_name="key")
def always_fails(key: str) -> str:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    raise ValueError("permanent failure")


@app.orchestration_trigger(context_name="context")
def retry_then_succeed(context: df.DurableOrchestrationContext):
    return (yield context.call_activity_with_retry("fails_until_third", FAST_RETRY, context.get_input()))


@app.orchestration_trigger(context_name="context")
def retry_exhausted(context: df.DurableOrchestrationContext):
    return (yield context.call_activity_with_retry("always_fails", FAST_RETRY, context.get_input()))


@app.orchestration_trigger(context_name="context")
def catches_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("always_fails", context.get_input())
    except Exception as exc:
        return {"caught": "permanent failure" in str(exc)}
    return {"caught": False}


@app.orchestration_trigger(context_name="context")
def raises(context: df.DurableOrchestrationContext):
    yield context.call_activity("echo", 1)
    raise ValueError("orchestrator broke")


@app.orchestration_trigger(context_name="context")
def timer_then_echo(context: df.DurableOrchestrationContext):
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(milliseconds=300))
    elapsed = (context.current_utc_datetime - started).total_seconds()
    return (yield context.call_activity("echo", elapsed >= 0.3))


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    value = context.get_input()
    if value < 3:
        yield context.call_activity("echo", value)
        context.continue_as_new(value + 1)
        return None
    return value


@app.orchestration_trigger(context_name="context")
def first_of(context: df.DurableOrchestrationContext):
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    event = context.wait_for_external_event("approve")
    winner = yield context.task_any([deadline, event])
    if winner == event:
        deadline.cancel()
        return {"approved": event.result}
    return "timed out"


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    fast = context.call_activity("echo", "fast")
    slow = context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    winner = yield context.task_any([fast, slow])
    slow.cancel()
    return winner.result


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_sub_orchestrator("child", i) for i in range(3)])
    try:
        yield context.call_sub_orchestrator("raises", None)
    except Exception as exc:
        return {"children": results, "child_failed": "orchestrator broke" in str(exc)}
    return {"children": results, "child_failed": False}


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    context.set_custom_status("child running")
    value = context.get_input()
    doubled = yield context.call_activity("echo", value * 2)
    return doubled


@app.orchestration_trigger(context_name="context")
def mixed_retry_fanout(context: df.DurableOrchestrationContext):
    """Retry timers interleave with plain tasks: ids must still line up with the SDK's."""
    tasks = [context.call_activity("echo", 0),
             context.call_activity_with_retry("fails_until_third", FAST_RETRY, context.get_input()),
             context.call_activity("echo", 2)]
    results = yield context.task_all(tasks)
    after = yield context.call_activity("echo", "after")
    context.set_custom_status({"done": True})
    return [*results, after]


@app.orchestration_trigger(context_name="context")
def uses_entities(context: df.DurableOrchestrationContext):
    yield context.call_entity(df.EntityId("counter", "one"), "add", 1)


RUNNING = {"now": 0, "peak": 0}
LOCK = threading.Lock()


@app.activity_trigger(input_name="seconds")
def slow(seconds: float) -> int:
    with LOCK:
        RUNNING["now"] += 1
        RUNNING["peak"] = max(RUNNING["peak"], RUNNING["now"])
    time.sleep(seconds)
    with LOCK:
        RUNNING["now"] -= 1
    return 1


@app.activity_trigger(input_name="value")
async def async_double(value: int) -> int:
    await asyncio.sleep(0.01)
    return value * 2


# DFApp's wrapper takes its parameter as `context`: with another context_name the worker refuses the function
# (a "context" parameter that is not the binding must be azure.functions.Context), so the whole app.
@app.orchestration_trigger(context_name="context", orchestration="NamedFanOut")
def bounded_fan_out(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("slow", 0.05) for _ in range(12)])
    doubled = yield context.task_all([context.call_activity("async_double", i) for i in range(3)])
    return [sum(results), doubled]


INDEX = index(app)  # DFApp.get_functions() may run only once per app


def run(scenario: Callable[[LocalDurableHost], Awaitable[Any]], tmp_path: Path) -> Any:
    async def main() -> Any:
        async with LocalDurableHost(INDEX, store_path=tmp_path / "hub.sqlite3") as host:
            return await scenario(host)
    return asyncio.run(main())


async def start_and_wait(host: LocalDurableHost, name: str, input_: Any = None, timeout: float = 15) -> Any:
    instance_id = await host.start_new(name, input_)
    return await host.wait(instance_id, timeout=timeout)


def test_retry_succeeds_on_third_attempt(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "retry_then_succeed", "r1")
        assert done.status == "Completed"
        assert output_of(done) == "r1 ok"
        history = await host.history(done.instance_id)
        kinds = [e["EventType"] for e in history]
        assert kinds.count(EventType.TASK_FAILED) == 2
        assert kinds.count(EventType.TIMER_FIRED) == 2
    run(scenario, tmp_path)
    assert ATTEMPTS["r1"] == 3


def test_retry_exhaustion_fails_the_orchestration(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "retry_exhausted", "x1")
        assert done.status == "Failed"
        assert "permanent failure" in output_of(done)
        assert output_of(done).startswith("Orchestrator function 'retry_exhausted' failed")
    run(scenario, tmp_path)
    assert ATTEMPTS["x1"] == 3


def test_activity_failure_is_catchable(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "catches_failure", "c1")
        assert (done.status, output_of(done)) == ("Completed", {"caught": True})
    run(scenario, tmp_path)


def test_orchestrator_exception_fails_with_message(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "raises")
        assert done.status == "Failed"
        assert "orchestrator broke" in output_of(done)
    run(scenario, tmp_path)


def test_durable_timer_waits(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "timer_then_echo")
        assert (done.status, output_of(done)) == ("Completed", True)
    run(scenario, tmp_path)


def test_continue_as_new_restarts_with_new_input(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "counter", 0)
        assert (done.status, output_of(done)) == ("Completed", 3)
        history = await host.history(done.instance_id)
        assert sum(e["EventType"] == EventType.EXECUTION_STARTED for e in history) == 1
    run(scenario, tmp_path)


def test_when_any_with_external_event_cancels_timer(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        instance_id = await host.start_new("first_of")
        await asyncio.sleep(0.3)
        assert await host.raise_event(instance_id, "approve", {"by": "me"}) == "ok"
        done = await host.wait(instance_id, timeout=10)
        assert (done.status, output_of(done)) == ("Completed", {"approved": {"by": "me"}})
        assert await host.engine.db(host.store.next_due) is None  # the 30s timer was dropped
    run(scenario, tmp_path)


def test_when_any_activity_beats_timer(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "race")
        assert (done.status, output_of(done)) == ("Completed", "fast")
    run(scenario, tmp_path)


def test_sub_orchestrations_complete_and_fail(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "parent")
        assert done.status == "Completed"
        assert output_of(done) == {"children": [0, 2, 4], "child_failed": True}
        kid = await host.status(f"{done.instance_id}:0")
        assert kid is not None and kid.parent_instance_id == done.instance_id
        assert json.loads(kid.custom_status or "null") == "child running"
    run(scenario, tmp_path)


def test_retry_timers_interleaved_with_fan_out(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "mixed_retry_fanout", "m1")
        assert (done.status, output_of(done)) == ("Completed", [0, "m1 ok", 2, "after"])
        assert json.loads(done.custom_status or "null") == {"done": True}
    run(scenario, tmp_path)


def test_unsupported_action_fails_clearly(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "uses_entities")
        assert done.status == "Failed"
        assert "CALL_ENTITY" in output_of(done)
    run(scenario, tmp_path)


def test_terminate_stops_a_waiting_instance(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        instance_id = await host.start_new("first_of")
        await asyncio.sleep(0.2)
        assert await host.terminate(instance_id, "stop") == "ok"
        done = await host.wait(instance_id)
        assert (done.status, output_of(done)) == ("Terminated", "stop")
        assert await host.terminate(instance_id, "again") == "gone"
    run(scenario, tmp_path)


def test_activity_concurrency_is_bounded_and_async_activities_run(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await start_and_wait(host, "NamedFanOut")  # the trigger's orchestration name
        assert (done.status, output_of(done)) == ("Completed", [12, [0, 2, 4]])

    async def main() -> None:
        async with LocalDurableHost(INDEX, store_path=tmp_path / "hub.sqlite3", max_activities=3) as host:
            await scenario(host)

    asyncio.run(main())
    assert 1 < RUNNING["peak"] <= 3
