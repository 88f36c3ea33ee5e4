"""The durable engine: orchestration episodes and activity work items over the SQLite task hub.

One loop claims instances with visible inbox messages, builds the orchestrator's context from
the stored history, calls the orchestrator (off the event loop) and commits the actions it
returned in one transaction; it also claims queued activities, runs them in the activity pool and
posts their results. Claims are leases in the shared store, renewed by a heartbeat while the work
runs, so several devhost processes on one task hub split the work as scaled-out instances do, and
a process's work is taken over by another once its leases expire (after a crash; a graceful stop
drains and releases them). After a crash both queues are simply read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from azure.functions import _durable_functions as df_wire
from azure.functions import durable_functions as df_converters
from azure.functions import meta

from devhost import failures
from devhost import replay_protocol as protocol
from devhost.indexer import AppIndex, FunctionInfo
from devhost.invoker import Context, Invoker
from devhost.replay_protocol import EventType, event, parse_iso, utc_now
from devhost.store import Activity, ChildStart, Claim, Episode, Outcome, Store
from dsr.runtime_status import RuntimeStatus

log = logging.getLogger("devhost.engine")
T = TypeVar("T")
POLL_SECONDS = 1.0  # the longest a worker waits before looking for work queued by another process
DRAIN_SECONDS = 5.0  # a graceful stop waits this long for work in flight to finish before it lets go


class Engine:
    """Runs orchestrations and activities of `app` against `store`."""

    def __init__(self, store: Store, app: AppIndex, invoker: Invoker, *, max_activities: int,
                 max_orchestrators: int, app_dir: Path | None = None, client_binding: str | None = None):
        self.store = store
        self.app = app
        self.invoker = invoker
        self.max_activities = max_activities
        self.max_orchestrators = max_orchestrators
        self.app_dir = str(app_dir or ".")
        self.client_binding = client_binding
        self._db = ThreadPoolExecutor(1, thread_name_prefix="store")
        self._wake = asyncio.Event()
        self._running_instances: set[str] = set()
        self._running_activities: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def worker(self) -> str:
        """This process's name on the leases it holds."""
        return self.store.owner

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call on the single store thread."""
        return await asyncio.get_running_loop().run_in_executor(self._db, lambda: fn(*args, **kwargs))

    def wake(self) -> None:
        """Something was queued: look for work now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._loops = [asyncio.create_task(self._dispatch_loop()), asyncio.create_task(self._renew_loop())]

    async def stop(self, *, drain: float = DRAIN_SECONDS) -> None:
        """Stop claiming work, let work in flight finish for up to `drain` seconds (its results committed, its
        leases released), then cancel the rest: what is cancelled keeps its leases until they expire, since an
        activity's thread cannot be stopped and must not run beside a second copy on another worker."""
        self._stopping = True  # Python 3.11's wait_for can swallow a cancel; the loop also checks this
        self.wake()
        dispatcher = self._loops[0]
        await asyncio.wait([dispatcher], timeout=max(drain, 0.1))  # it ends at its next turn: no claim left half-done
        if self._tasks and drain > 0:
            await asyncio.wait(list(self._tasks), timeout=drain)
        in_flight = [t for t in self._tasks if not t.done()]
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        self._db.shutdown(wait=True)
        if in_flight:
            log.warning("stopped with %d work item(s) in flight: their leases expire within %g s, then another "
                        "worker (or this one, restarted) runs them again", len(in_flight), self.store.lease_seconds)

    async def _renew_loop(self) -> None:
        """The heartbeat: renew the leases of everything this worker runs, a third of a lease before it expires."""
        while not self._stopping:
            await asyncio.sleep(self.store.lease_seconds / 3)
            try:
                lost_instances, lost_activities = await self.db(
                    self.store.renew, frozenset(self._running_instances), frozenset(self._running_activities))
            except Exception:
                log.exception("could not renew leases")
                continue
            for instance_id in lost_instances:
                log.warning("lost the lease of instance %s: its episode will not commit", instance_id)
            for activity_id in lost_activities:
                log.warning("lost the lease of activity work item %d: its result will be dropped", activity_id)

    async def _dispatch_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._dispatch_once()
                due = await self.db(self.store.next_due)
            except Exception:
                log.exception("dispatcher error")
                due = None
            timeout = POLL_SECONDS if due is None else min(POLL_SECONDS, max(0.0, due - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    async def _dispatch_once(self) -> None:
        free = self.max_orchestrators - len(self._running_instances)
        if free > 0:
            for claim in await self.db(self.store.claim_instances, free):
                self._running_instances.add(claim.instance_id)
                self._spawn(self._episode(claim), lambda i=claim.instance_id: self._running_instances.discard(i))
        free = self.max_activities - len(self._running_activities)
        if free > 0:
            for activity in await self.db(self.store.claim_activities, free):
                self._running_activities.add(activity.id)
                self._spawn(self._activity(activity), lambda i=activity.id: self._running_activities.discard(i))

    def _spawn(self, coro: Any, done: Callable[[], None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)

        def finished(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            done()
            if not t.cancelled() and t.exception() is not None:
                log.error("engine work item failed; it was released and is retried", exc_info=t.exception())
            self.wake()

        task.add_done_callback(finished)

    # --- orchestrations ------------------------------------------------------------------------

    async def _episode(self, claim: Claim) -> None:
        """One episode of a claimed instance; the lease is released by the commit, or here when nothing commits."""
        instance_id = claim.instance_id
        if claim.previous_owner and claim.previous_owner != self.worker:
            log.warning("instance %s taken over from worker %s, whose lease expired", instance_id,
                        claim.previous_owner, extra={"function": "-", "invocation_id": instance_id})
        try:
            committed = await self._run_episode(instance_id)
        except asyncio.CancelledError:
            raise  # stopping: the orchestrator may still run in its thread, so the lease stays until it expires
        except Exception:
            await self.db(self.store.release_instance, instance_id)
            raise
        if not committed:
            await self.db(self.store.release_instance, instance_id)

    async def _run_episode(self, instance_id: str) -> bool:
        episode = await self.db(self.store.load_episode, instance_id)
        if episode is None:
            return False
        info = self.app.get(episode.instance.name, "orchestrator")
        now = utc_now()
        if info is None:
            result = protocol.OrchestratorResult(
                done=True, actions=[], error=f"The function '{episode.instance.name}' doesn't exist, "
                "is disabled, or is not an orchestrator function.")
        else:
            result = await self.run_orchestrator(info, episode, now)
        outcome = build_outcome(episode, result, now)
        committed = await self.db(self.store.commit_episode, episode, outcome)
        if committed and outcome.status in (RuntimeStatus.COMPLETED, RuntimeStatus.FAILED):
            level = logging.INFO if outcome.status == RuntimeStatus.COMPLETED else logging.WARNING
            log.log(level, "Orchestration %s '%s' %s", instance_id, episode.instance.name,
                    outcome.status.lower(), extra={"function": episode.instance.name, "invocation_id": instance_id})
        return committed

    async def run_orchestrator(self, info: FunctionInfo, episode: Episode, now: Any) -> protocol.OrchestratorResult:
        """Call the orchestrator with the context JSON; decode its actions or its failure."""
        history = [*episode.history, event(EventType.ORCHESTRATOR_STARTED, now), *episode.new_events]
        body = protocol.build_context(instance_id=episode.instance.instance_id, history=history,
                                      input_json=episode.instance.input,
                                      parent_instance_id=episode.instance.parent_instance_id)
        try:
            text = await self.invoker.call(info.name, info.func, df_wire.OrchestrationContext(body),
                                           pool="orchestrator", reason=f"instance {episode.instance.instance_id}")
            return protocol.parse_result(text if isinstance(text, str) else json.dumps(text))
        except Exception as exc:
            return protocol.parse_failure(str(exc))

    # --- activities ----------------------------------------------------------------------------

    async def _activity(self, activity: Activity) -> None:
        """Run a claimed activity and post its result while the lease is still this worker's; abandon it (for any
        worker to run again) if devhost itself fails."""
        if activity.previous_owner and activity.previous_owner != self.worker:
            log.warning("activity %s (instance %s task %d) taken over from worker %s, whose lease expired "
                        "(claim %d)", activity.name, activity.instance_id, activity.task_id, activity.previous_owner,
                        activity.dequeue_count, extra={"function": activity.name, "invocation_id": "-"})
        try:
            info = self.app.get(activity.name, "activity")
            now = utc_now()
            if info is None:
                outcome = event(EventType.TASK_FAILED, now, TaskScheduledId=activity.task_id,
                                Reason=f"The activity function '{activity.name}' doesn't exist.", Details="")
            else:
                outcome = await self.run_activity(info, activity)
        except Exception:
            await self.db(self.store.release_activity, activity.id)
            raise
        if await self.db(self.store.complete_activity, activity.id, outcome):
            self.wake()
        else:
            log.warning("activity %s (instance %s task %d) finished after its lease passed to another worker: "
                        "result dropped", activity.name, activity.instance_id, activity.task_id,
                        extra={"function": activity.name, "invocation_id": "-"})

    async def run_activity(self, info: FunctionInfo, activity: Activity) -> dict[str, Any]:
        """Invoke the activity with its decoded input; a TaskCompleted or TaskFailed event."""
        invocation_id = str(uuid.uuid4())
        try:
            value = df_converters.ActivityTriggerConverter.decode(
                meta.Datum(type="json", value=activity.input if activity.input is not None else "null"),
                trigger_metadata={})
            kwargs: dict[str, Any] = {info.trigger["name"]: value}
            if info.wants_context:
                kwargs["context"] = Context(info.name, invocation_id, self.app_dir)
            if info.client_param:
                kwargs[info.client_param] = self.client_binding
            result = await self.invoker.call(info.name, info.func, pool="activity", invocation_id=invocation_id,
                                             reason=f"instance {activity.instance_id} task {activity.task_id}",
                                             bound=kwargs)
            encoded = df_converters.ActivityTriggerConverter.encode(result, expected_type=None)
            return event(EventType.TASK_COMPLETED, utc_now(), TaskScheduledId=activity.task_id,
                         Result=encoded.value)
        except Exception as exc:
            return event(EventType.TASK_FAILED, utc_now(), TaskScheduledId=activity.task_id,
                         Reason=failures.activity_reason(info.name, exc), Details=failures.activity_details(exc))


def build_outcome(episode: Episode, result: protocol.OrchestratorResult, now: Any) -> Outcome:
    """Turn an orchestrator's result into the history, work and status one episode commits, as the shim does:
    set the custom status (16 KB at most), replay the actions (a WhenAll waits for every child), then fail,
    finish or wait."""
    instance = episode.instance
    episode_events = [event(EventType.ORCHESTRATOR_STARTED, now), *episode.new_events]
    history = [*episode.history, *episode_events]
    custom = result.custom_status
    if result.has_custom_status:
        too_large = failures.custom_status_too_large(json.dumps(custom, separators=(",", ":"), ensure_ascii=False))
        if too_large is not None:  # SetCustomStatus throws before anything else: the host fails the instance
            return _failed(episode_events, now, too_large, f"Unhandled exception while executing orchestration: "
                           f"System.ArgumentException: {too_large}", custom_status=None)
    plan = protocol.Plan()
    try:
        plan = protocol.plan(result.actions, history)
        _check_timer_lengths(result, plan, now)
    except protocol.UnsupportedActionError as exc:
        result.error = result.error or str(exc)
    except TimerTooLongError as exc:
        return _failed(episode_events, now, str(exc), str(exc), custom_status=custom)
    except (KeyError, TypeError, ValueError) as exc:  # actions devhost cannot read: fail, don't spin
        result.error = f"devhost could not apply the orchestrator's actions: {type(exc).__name__}: {exc}"
        plan = protocol.Plan()
    finishing = result.done or result.error is not None
    if finishing and not plan.awaiting:
        if result.error is not None:
            message = f"Orchestrator function '{instance.name}' failed: {result.error}"
            return _failed(episode_events, now, message, failures.orchestration_details(result.error),
                           custom_status=custom)
        if plan.continue_as_new or _continues(result.actions):
            return Outcome(new_history=[], status=RuntimeStatus.RUNNING, custom_status=custom, continued=True,
                           continue_input=_token(plan.continue_input if plan.continue_as_new
                                                 else _continues(result.actions)[0]))
        closing = [event(EventType.ORCHESTRATOR_COMPLETED, now),
                   event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=RuntimeStatus.COMPLETED,
                         Result=json.dumps(result.output))]
        return Outcome(new_history=episode_events + closing, status=RuntimeStatus.COMPLETED, output=result.output,
                       custom_status=custom)
    return _running(instance, episode_events, plan, now, custom)


class TimerTooLongError(ValueError):
    """A timer past the storage provider's limit under a replay schema that does not split it."""


def _check_timer_lengths(result: protocol.OrchestratorResult, plan: protocol.Plan, now: datetime) -> None:
    """Before V3 the shim refuses timers past 6 days (ThrowIfInvalidTimerLengthForStorageProvider)."""
    if result.schema >= protocol.SCHEMA_V3:
        return
    for item in plan.new_tasks:
        if item.kind == "timer" and item.fire_at and parse_iso(item.fire_at) - now > protocol.MAX_SHORT_TIMER:
            raise TimerTooLongError(protocol.TIMER_TOO_LONG)


def _failed(episode_events: list[dict[str, Any]], now: Any, output: str, details: str, *,
            custom_status: Any) -> Outcome:
    closing = [event(EventType.ORCHESTRATOR_COMPLETED, now),
               event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=RuntimeStatus.FAILED, Result=output,
                     Details=details)]
    return Outcome(new_history=episode_events + closing, status=RuntimeStatus.FAILED, output=output, details=details,
                   custom_status=custom_status)


def _running(instance: Any, episode_events: list[dict[str, Any]], plan: protocol.Plan, now: Any,
             custom: Any) -> Outcome:
    """Still running: schedule what the replay reached that has no scheduling event yet."""
    outcome = Outcome(new_history=list(episode_events), status=RuntimeStatus.RUNNING, custom_status=custom,
                      cancelled_timers=plan.cancelled_timers)
    start = now.timestamp()
    for item in plan.new_tasks:
        if item.kind == "activity":
            outcome.new_history.append(event(EventType.TASK_SCHEDULED, now, event_id=item.task_id,
                                             Name=item.name, Input=item.input))
            outcome.activities.append((item.task_id, item.name, item.input))
        elif item.kind == "timer":
            if item.delay_ms is not None:
                due = start + item.delay_ms / 1000
            else:
                due = parse_iso(item.fire_at or "").timestamp()
            fire_at = protocol.iso(datetime.fromtimestamp(due, UTC))
            outcome.new_history.append(event(EventType.TIMER_CREATED, now, event_id=item.task_id, FireAt=fire_at))
            fired = event(EventType.TIMER_FIRED, datetime.fromtimestamp(due, UTC),
                          TimerId=item.task_id, FireAt=fire_at)
            outcome.timers.append((item.task_id, due, fired))
        else:
            child_id = item.instance_id or f"{instance.instance_id}:{item.task_id}"
            outcome.new_history.append(event(EventType.SUB_ORCHESTRATION_INSTANCE_CREATED, now,
                                             event_id=item.task_id, Name=item.name, InstanceId=child_id,
                                             Input=item.input))
            outcome.children.append(ChildStart(child_id, item.name, _token(item.input), item.task_id))
    outcome.new_history.append(event(EventType.ORCHESTRATOR_COMPLETED, now))
    return outcome


def _continues(actions: list[dict[str, Any]]) -> list[str | None]:
    """Inputs of top-level ContinueAsNew actions (the SDK records it as a fire-and-forget action)."""
    return [a.get("input") for a in actions if int(a.get("actionType", -1)) == protocol.ActionType.CONTINUE_AS_NEW]


def _token(sdk_json: str | None) -> str | None:
    """Stored form of an input the SDK serialized: the JSON of that string, as the host keeps it."""
    return None if sdk_json is None else json.dumps(sdk_json)
