"""devhost's engine keeps the Durable extension's rules, not kinder ones (real SDK replay, in-process).

Evidence, Azure/azure-functions-durable-extension:
- custom status: DurableOrchestrationContext.SetCustomStatus serializes with a 16 KB limit
  (MessagePayloadDataConverter: `(int)(UTF-16 bytes / 1024.0) > 16` throws "The UTF-16 size of the
  JSON-serialized payload must not exceed 16 KB..."), and pull request #3113 does the same for the
  out-of-process model: the orchestration fails.
- task_all: OutOfProcOrchestrationShim replays a WhenAll action as `Task.WhenAll` (every child finishes
  before the shim goes on, even after a failure), and only then the next action; the Python SDK fails a
  task_all at its first failed child (azure-functions-durable-python issue #603 shows what follows).
- terminate: DTFx only appends ExecutionTerminated; activity work items already queued still run.
- failures: TaskActivityShim reports `Activity function '<name>' failed: <message>` with the .NET exception
  serialized as details (Utils.SerializeCause); the worker's message is "Result: Failure\\nException: ...\\nStack: ...".
- replay schema: the extension sends upperSchemaVersion V2, upperSchemaVersionNew V3 and the provider's timer
  durations (Azure Storage: 6 days maximum, 3-day intervals), so the SDK splits long timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df

from devhost.engine import build_outcome
from devhost.harness import LocalDurableHost, output_of
from devhost.indexer import index
from devhost.replay_protocol import (
    TIMER_TOO_LONG,
    ActionType,
    EventType,
    OrchestratorResult,
    build_context,
    event,
    iso,
    parse_iso,
)
from devhost.store import Episode, Instance

app = df.DFApp()
EVENTS: list[str] = []
RELEASE = threading.Event()
LOCK = threading.Lock()


def record(text: str) -> None:
    with LOCK:
        EVENTS.append(text)


@app.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


@app.activity_trigger(input_name="label")
def fails(label: str) -> str:
    record(f"failed {label}")
    raise ValueError(f"bad value for {label}")


@app.activity_trigger(input_name="label")
def blocker(label: str) -> str:
    record(f"start {label}")
    RELEASE.wait(timeout=30)
    record(f"end {label}")
    return label


@app.orchestration_trigger(context_name="context")
def big_status(context: df.DurableOrchestrationContext):
    context.set_custom_status(context.get_input())
    yield context.call_activity("echo", 1)
    return "done"


@app.orchestration_trigger(context_name="context")
def goes_on_after_failure(context: df.DurableOrchestrationContext):
    with contextlib.suppress(Exception):
        yield context.task_all([context.call_activity("fails", "a"), context.call_activity("blocker", "b")])
    return (yield context.call_activity("echo", "after"))


@app.orchestration_trigger(context_name="context")
def returns_after_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.task_all([context.call_activity("fails", "c"), context.call_activity("blocker", "d")])
    except Exception:
        return "gave up"
    return "all done"


@app.orchestration_trigger(context_name="context")
def two_blockers(context: df.DurableOrchestrationContext):
    yield context.task_all([context.call_activity("blocker", "one"), context.call_activity("blocker", "two"),
                            context.call_sub_orchestrator("child_blocker", "three")])


@app.orchestration_trigger(context_name="context")
def child_blocker(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("blocker", context.get_input()))


@app.orchestration_trigger(context_name="context")
def catches(context: df.DurableOrchestrationContext):
    """Call the input's activity with its value; what the failure said."""
    activity, value = context.get_input()
    try:
        yield context.call_activity(activity, value)
    except Exception as exc:
        return str(exc)
    return None


@app.orchestration_trigger(context_name="context")
def long_timer(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=10))
    return "woke"


INDEX = index(app)


def run(scenario: Callable[[LocalDurableHost], Awaitable[Any]], tmp_path: Path, *, activities: int = 4,
        function_timeout: float | None = None) -> Any:
    EVENTS.clear()
    RELEASE.clear()

    async def main() -> Any:
        try:
            async with LocalDurableHost(INDEX, store_path=tmp_path / "hub.sqlite3", max_activities=activities,
                                        function_timeout=function_timeout) as host:
                return await scenario(host)
        finally:
            RELEASE.set()  # never leave a blocked activity thread behind

    return asyncio.run(main())


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 15) -> None:
    for _ in range(int(timeout / 0.02)):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def episode_after_failure(host: LocalDurableHost, instance_id: str) -> list[dict[str, Any]]:
    """Wait until the orchestrator has run on the TaskFailed of its fan-out; its history then."""
    async def handled() -> bool:
        history = await host.history(instance_id)
        failed = [i for i, e in enumerate(history) if e["EventType"] == EventType.TASK_FAILED]
        return bool(failed) and any(e["EventType"] == EventType.ORCHESTRATOR_COMPLETED for e in history[failed[0]:])
    await until(handled)
    return await host.history(instance_id)


# --- 1. custom status is capped at 16 KB of UTF-16 JSON --------------------------------------------------


def test_custom_status_over_16_kb_fails_the_orchestration(tmp_path: Path) -> None:
    # "x" * n is n + 2 UTF-16 code units of JSON; the extension fails when int(bytes / 1024) > 16
    async def scenario(host: LocalDurableHost) -> None:
        fits = await host.wait(await host.start_new("big_status", "x" * 8701))
        assert (fits.status, output_of(fits)) == ("Completed", "done")
        over = await host.wait(await host.start_new("big_status", "x" * 8702))
        assert over.status == "Failed"
        assert output_of(over) == ("The UTF-16 size of the JSON-serialized payload must not exceed 16 KB. "
                                   "The current payload size is 17 KB.")
        wide = await host.wait(await host.start_new("big_status", "\U0001F600" * 4400))  # 2 code units each
        assert wide.status == "Failed"
    run(scenario, tmp_path)


# --- 2. a failed task_all: the shim waits for every child -----------------------------------------------


def test_after_a_failed_task_all_nothing_new_is_scheduled_while_siblings_run(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        instance_id = await host.start_new("goes_on_after_failure")
        history = await episode_after_failure(host, instance_id)
        scheduled = [e.get("Name") for e in history if e["EventType"] == EventType.TASK_SCHEDULED]
        assert scheduled == ["fails", "blocker"]  # "echo" waits for the blocked sibling, as on Azure
        RELEASE.set()
        done = await host.wait(instance_id)
        assert (done.status, output_of(done)) == ("Completed", "after")
        order = [e.get("Name") for e in await host.history(instance_id) if e["EventType"] == EventType.TASK_SCHEDULED]
        assert order == ["fails", "blocker", "echo"]
    run(scenario, tmp_path)


def test_an_orchestrator_returning_after_a_failed_task_all_completes_only_when_siblings_finish(
    tmp_path: Path,
) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        instance_id = await host.start_new("returns_after_failure")
        await episode_after_failure(host, instance_id)
        current = await host.status(instance_id)
        assert current is not None and current.status == "Running"  # the shim still awaits the WhenAll
        RELEASE.set()
        done = await host.wait(instance_id)
        assert (done.status, output_of(done)) == ("Completed", "gave up")
    run(scenario, tmp_path)


# --- 3. terminate leaves scheduled work running ----------------------------------------------------------


def test_terminate_leaves_scheduled_activities_and_sub_orchestrations_running(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        instance_id = await host.start_new("two_blockers")

        async def started() -> bool:
            return any(e.startswith("start") for e in EVENTS)
        await until(started)
        assert await host.terminate(instance_id, "cancelled") == "ok"
        RELEASE.set()

        async def all_ran() -> bool:
            return {"end one", "end two", "end three"} <= set(EVENTS)
        await until(all_ran)  # one activity slot: "two" and the child's activity were only queued
        child = await host.wait(f"{instance_id}:2")
        assert (child.status, output_of(child)) == ("Completed", "three")
        parent = await host.status(instance_id)
        assert parent is not None and (parent.status, output_of(parent)) == ("Terminated", "cancelled")
    run(scenario, tmp_path, activities=1)


# --- 5. failure details as Azure shapes them -------------------------------------------------------------


def test_activity_failures_carry_azure_shaped_reason_and_details(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        done = await host.wait(await host.start_new("catches", ["fails", "e"]))
        failed = next(e for e in await host.history(done.instance_id) if e["EventType"] == EventType.TASK_FAILED)
        assert failed["Reason"].startswith("Activity function 'fails' failed: Result: Failure\n"
                                           "Exception: ValueError: bad value for e\nStack: ")
        details = json.loads(failed["Details"])
        assert details["$type"].startswith("Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException")
        assert "ValueError: bad value for e" in details["Message"] and details["StackTraceString"]
        seen = output_of(done)  # what the SDK hands the orchestrator: Reason + Details
        assert seen.startswith(failed["Reason"]) and '"StackTraceString"' in seen and len(seen) > 1000
    run(scenario, tmp_path)


# --- 8b. functionTimeout stops an execution -------------------------------------------------------------


def test_an_activity_past_the_function_timeout_fails_with_the_hosts_message(tmp_path: Path) -> None:
    """As the Functions host does: "Timeout value of 00:10:00 was exceeded by function: SingleFeedActivity" is what
    the orchestrator saw in azure-functions-durable-extension issue #1331 (its host also restarts: #2101)."""
    async def scenario(host: LocalDurableHost) -> None:
        done = await host.wait(await host.start_new("catches", ["blocker", "slow"]))
        failed = next(e for e in await host.history(done.instance_id) if e["EventType"] == EventType.TASK_FAILED)
        assert failed["Reason"] == ("Activity function 'blocker' failed: "
                                    "Timeout value of 00:00:00.5000000 was exceeded by function: blocker")
        assert output_of(done).startswith(failed["Reason"])
        assert EVENTS == ["start slow"]  # stopped while it ran (its thread ends when released; its result is dropped)
    run(scenario, tmp_path, function_timeout=0.5)


# --- 9. replay schema V3 with timer durations ------------------------------------------------------------


def test_long_timers_are_split_as_with_schema_v3(tmp_path: Path) -> None:
    async def scenario(host: LocalDurableHost) -> None:
        instance_id = await host.start_new("long_timer")

        async def timer_created() -> bool:
            return any(e["EventType"] == EventType.TIMER_CREATED for e in await host.history(instance_id))
        await until(timer_created)
        history = await host.history(instance_id)
        started = parse_iso(next(e for e in history if e["EventType"] == EventType.ORCHESTRATOR_STARTED)["Timestamp"])
        fire_at = parse_iso(next(e for e in history if e["EventType"] == EventType.TIMER_CREATED)["FireAt"])
        assert abs((fire_at - started) - timedelta(days=3)) < timedelta(seconds=1)  # one 3-day interval
        current = await host.status(instance_id)
        assert current is not None and current.status == "Running"
    run(scenario, tmp_path)


def test_the_context_offers_what_the_extension_offers_and_v2_timers_stay_within_6_days() -> None:
    body = json.loads(build_context(instance_id="i", history=[], input_json=None, parent_instance_id=None))
    assert (body["upperSchemaVersion"], body["upperSchemaVersionNew"]) == (1, 2)
    assert (body["maximumShortTimerDuration"], body["longRunningTimerIntervalDuration"]) == ("6.00:00:00", "3.00:00:00")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    started = event(EventType.EXECUTION_STARTED, now, Name="o", Input=None)
    episode = Episode(Instance("i", "o", "e", "Running", None, None, None, iso(now), iso(now), None, None, None),
                      [], [1], [started])
    timer = {"actionType": ActionType.CREATE_TIMER, "fireAt": iso(now + timedelta(days=7)), "isCanceled": False}
    outcome = build_outcome(episode, OrchestratorResult(done=False, actions=[timer], schema=1), now)
    assert (outcome.status, outcome.output) == ("Failed", TIMER_TOO_LONG)
    split = build_outcome(episode, OrchestratorResult(done=False, actions=[timer], schema=2), now)
    assert split.status == "Running"  # under V3 the SDK, not the shim, keeps timers short
