"""The out-of-proc orchestration protocol, pure: history events in, actions out, no I/O.

The Durable extension hands an orchestrator a JSON context (history, instanceId, input...)
and gets back ``{"isDone", "actions", "output", "customStatus", "error"}``. The actions carry
no task ids: like the extension's out-of-proc shim, `plan` replays them in order against the
history to learn which sequence number each task has and which tasks are new.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

# What the extension offers an out-of-process orchestrator today (DurableTaskExtension's context JSON):
# `upperSchemaVersion` V2 for SDKs that know no more, `upperSchemaVersionNew` V3, and the storage provider's
# timer limits (Azure Storage: timers up to 6 days; the SDK splits longer ones into 3-day intervals under V3).
SCHEMA_V2 = 1  # ReplaySchema.V2: one flat action list with WhenAll/WhenAny compound actions
SCHEMA_V3 = 2  # ReplaySchema.V3: as V2, long timers split by the SDK
MAX_SHORT_TIMER = timedelta(days=6)
LONG_TIMER_INTERVAL = timedelta(days=3)
DEFAULT_HTTP_SLEEP_MS = 30000
TIMER_TOO_LONG = "The Azure Storage provider supports a maximum of 6 days for time-based delays"
FAILURE_MARKER = "\n\n$OutOfProcData$:"


class EventType(IntEnum):
    """History event types, numbered as in DurableTask.Core (and the Python SDK)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16


class ActionType(IntEnum):
    """Action types of the out-of-proc protocol."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    SCHEDULED_SIGNAL_ENTITY = 10
    WHEN_ANY = 11
    WHEN_ALL = 12


SCHEDULING_EVENTS = {
    EventType.TASK_SCHEDULED,
    EventType.TIMER_CREATED,
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
}

# completion event type -> (field naming the task, whether the task failed)
COMPLETIONS: dict[int, tuple[str, bool]] = {
    EventType.TASK_COMPLETED: ("TaskScheduledId", False),
    EventType.TASK_FAILED: ("TaskScheduledId", True),
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: ("TaskScheduledId", False),
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: ("TaskScheduledId", True),
    EventType.TIMER_FIRED: ("TimerId", False),
}


class UnsupportedActionError(ValueError):
    """The orchestrator asked for something devhost does not implement (entities, durable HTTP)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a Z, as the extension writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """Parse the timestamps the SDK writes (``fireAt``) and the ones devhost stores."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event(kind: EventType, timestamp: datetime, *, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """One history event in the extension's JSON shape."""
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": iso(timestamp), **fields}


def build_context(
    *,
    instance_id: str,
    history: list[dict[str, Any]],
    input_json: str | None,
    parent_instance_id: str | None,
) -> str:
    """The orchestration trigger payload: events before the last OrchestratorStarted are replays.

    `input_json` is the stored JSON of the input token: for inputs from the SDK (client, parent
    orchestrator, continue-as-new) that token is itself a string of JSON, as in the real host.
    """
    last_start = max((i for i, e in enumerate(history) if e["EventType"] == EventType.ORCHESTRATOR_STARTED), default=0)
    events = [{**e, "IsPlayed": i < last_start} for i, e in enumerate(history)]
    body = {
        "history": events,
        "instanceId": instance_id,
        "isReplaying": last_start > 0,
        "parentInstanceId": parent_instance_id,
        "input": None if input_json is None else json.loads(input_json),
        "upperSchemaVersion": SCHEMA_V2,
        "upperSchemaVersionNew": SCHEMA_V3,
        "longRunningTimerIntervalDuration": timespan(LONG_TIMER_INTERVAL),
        "maximumShortTimerDuration": timespan(MAX_SHORT_TIMER),
        "defaultHttpAsyncRequestSleepTimeMillseconds": DEFAULT_HTTP_SLEEP_MS,
    }
    return json.dumps(body)


def timespan(value: timedelta) -> str:
    """A .NET TimeSpan as Newtonsoft writes it: `d.hh:mm:ss`."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}.{clock}" if days else clock


@dataclass
class OrchestratorResult:
    """What one orchestrator invocation returned."""

    done: bool
    actions: list[dict[str, Any]]
    output: Any = None
    custom_status: Any = None
    error: str | None = None
    schema: int = 0
    has_custom_status: bool = False


def parse_result(text: str) -> OrchestratorResult:
    """Decode the JSON an orchestrator returns (schema V1 lists of lists are flattened in order)."""
    state = json.loads(text)
    actions: list[dict[str, Any]] = []
    for group in state.get("actions") or []:
        if state.get("schemaVersion", 0) >= SCHEMA_V2:
            actions.extend(group)
        elif len(group) == 1:
            actions.append(group[0])
        elif group:  # V1: the shim awaits the first of each set
            actions.append({"actionType": ActionType.WHEN_ANY, "compoundActions": group})
    return OrchestratorResult(
        done=bool(state.get("isDone")),
        actions=actions,
        output=state.get("output"),
        custom_status=state.get("customStatus"),
        error=state.get("error"),
        schema=int(state.get("schemaVersion") or 0),
        has_custom_status=state.get("customStatus") is not None,
    )


def parse_failure(message: str) -> OrchestratorResult:
    """Decode the exception the SDK raises when user code throws (error text + state JSON)."""
    error, _, state_text = message.partition(FAILURE_MARKER)
    result = parse_result(state_text) if state_text else OrchestratorResult(done=True, actions=[])
    result.error = result.error or error
    return result


# --- the shim: replay actions against history to assign sequence numbers ---------------------


@dataclass
class TaskStart:
    """A new task devhost must start: an activity, a timer or a sub-orchestration."""

    task_id: int
    kind: str  # "activity" | "timer" | "suborchestration"
    name: str = ""
    input: str | None = None
    instance_id: str | None = None
    fire_at: str | None = None
    delay_ms: float | None = None  # retry timers: due `delay_ms` after this episode's start


@dataclass
class Plan:
    """The outcome of replaying the action list: new work and the fate of the orchestration."""

    new_tasks: list[TaskStart] = field(default_factory=list)
    cancelled_timers: list[int] = field(default_factory=list)
    continue_as_new: bool = False
    continue_input: Any = None
    awaiting: bool = False  # the shim is still awaiting an action: the orchestration cannot finish yet
    open_tasks: list[int] = field(default_factory=list)  # sequence numbers of the tasks still awaited


class _Node:
    """A task of the replayed action tree (atomic, compound or with-retry)."""

    def __init__(self, kind: str, action: dict[str, Any] | None = None, children: list[_Node] | None = None):
        self.kind = kind
        self.action = action or {}
        self.children = children or []
        self.parent: _Node | None = None
        self.done = False
        self.failed = False
        self.task_id: int | None = None
        self.attempts = 1
        self.waiting_on_timer = False
        for child in self.children:
            child.parent = self


class _Shim:
    """Replays an action list the way the extension's out-of-proc shim awaits it."""

    def __init__(self, actions: list[dict[str, Any]]):
        self.actions = actions
        self.position = 0
        self.current: _Node | None = None
        self.sequence = 0
        self.open: dict[int, _Node] = {}
        self.waiters: dict[str, list[_Node]] = {}
        self.buffered: dict[str, int] = {}
        self.atomic: dict[int, _Node] = {}
        self.plan = Plan()

    def advance(self) -> None:
        """Invoke the next actions while the awaited one has completed."""
        while (self.current is None or self.current.done) and self.position < len(self.actions):
            action = self.actions[self.position]
            self.position += 1
            self.current = self.build(action)
            self.settle(self.current)

    def build(self, action: dict[str, Any]) -> _Node:
        kind = ActionType(int(action["actionType"]))
        if kind in (ActionType.WHEN_ALL, ActionType.WHEN_ANY):
            name = "all" if kind is ActionType.WHEN_ALL else "any"
            return _Node(name, action, [self.build(a) for a in action.get("compoundActions") or []])
        if kind is ActionType.CALL_ACTIVITY:
            return self.new_task("activity", action)
        if kind is ActionType.CALL_SUB_ORCHESTRATOR:
            return self.new_task("suborchestration", action)
        if kind is ActionType.CREATE_TIMER:
            node = self.new_task("timer", action)
            if action.get("isCanceled"):
                self.plan.cancelled_timers.append(node.task_id or 0)
            return node
        if kind in (ActionType.CALL_ACTIVITY_WITH_RETRY, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            inner = "activity" if kind is ActionType.CALL_ACTIVITY_WITH_RETRY else "suborchestration"
            retry = _Node("retry", action, [self.new_task(inner, action)])
            return retry
        if kind is ActionType.WAIT_FOR_EXTERNAL_EVENT:
            node = _Node("event", action)
            name = action.get("externalEventName", "")
            if self.buffered.get(name):
                self.buffered[name] -= 1
                node.done = True
            else:
                self.waiters.setdefault(name, []).append(node)
            return node
        if kind is ActionType.CONTINUE_AS_NEW:
            self.plan.continue_as_new = True
            self.plan.continue_input = action.get("input")
            node = _Node("done", action)
            node.done = True
            return node
        raise UnsupportedActionError(f"devhost does not support the {kind.name} action")

    def new_task(self, kind: str, action: dict[str, Any]) -> _Node:
        node = _Node(kind, action)
        node.task_id = self.sequence
        self.sequence += 1
        self.open[node.task_id] = node
        self.atomic[node.task_id] = node
        return node

    def settle(self, node: _Node) -> None:
        """A compound node with no pending children is complete at once."""
        if node.kind in ("all", "any") and not node.done:
            for child in node.children:
                self.settle(child)
            states = [c.done for c in node.children]
            node.done = all(states) if node.kind == "all" else (not states or any(states))
            node.failed = node.kind == "all" and node.done and any(c.failed for c in node.children)

    def complete(self, node: _Node, *, failed: bool) -> None:
        node.done, node.failed = True, failed
        parent = node.parent
        if parent is None or parent.done:
            return
        if parent.kind == "retry":
            self.retry_step(parent, node)
        elif parent.kind == "any":
            self.complete(parent, failed=False)
        elif all(c.done for c in parent.children):  # Task.WhenAll: done when every child is, failed or not
            self.complete(parent, failed=any(c.failed for c in parent.children))

    def retry_step(self, retry: _Node, child: _Node) -> None:
        """Mirror the with-retry state machine: fail -> timer -> reschedule, until attempts run out."""
        if retry.waiting_on_timer:
            retry.waiting_on_timer = False
            if retry.attempts >= int(retry.action["retryOptions"]["maxNumberOfAttempts"]):
                self.complete(retry, failed=True)
                return
            attempt = self.new_task(retry.children[0].kind, retry.action)
            attempt.parent = retry
            retry.children.append(attempt)
            retry.attempts += 1
        elif not child.failed:
            self.complete(retry, failed=False)
        else:
            timer = self.new_task("timer", {})
            timer.parent = retry
            timer.kind = "retry-timer"
            retry.children.append(timer)
            retry.waiting_on_timer = True
            timer.action = {"delayMs": retry_delay_ms(retry.action["retryOptions"], retry.attempts)}

    def on_event(self, entry: dict[str, Any]) -> None:
        kind = entry["EventType"]
        if kind == EventType.EXECUTION_STARTED:
            self.advance()
            return
        if kind == EventType.EVENT_RAISED:
            name = entry.get("Name", "")
            waiting = self.waiters.get(name)
            if waiting:
                self.complete(waiting.pop(0), failed=False)
            else:
                self.buffered[name] = self.buffered.get(name, 0) + 1
            self.advance()
            return
        outcome = COMPLETIONS.get(kind)
        if outcome is None:
            return
        id_field, failed = outcome
        node = self.open.pop(int(entry.get(id_field, -1)), None)
        if node is not None and not node.done:
            self.complete(node, failed=failed)
            self.advance()


def retry_delay_ms(options: dict[str, Any], attempt: int) -> float:
    """Delay before retry `attempt` (1-based): first interval x backoff^(attempt-1), capped."""
    first = float(options.get("firstRetryIntervalInMilliseconds", 1000))
    backoff = float(options.get("backoffCoefficient", 1.0))
    delay = first * backoff ** (attempt - 1)
    cap = options.get("maxRetryIntervalInMilliseconds")
    return min(delay, float(cap)) if cap else delay


def plan(actions: list[dict[str, Any]], history: list[dict[str, Any]]) -> Plan:
    """Replay `actions` over `history`; return the tasks that have no scheduling event yet.

    `awaiting` says the shim has not got through the action list: it still awaits a task (a WhenAll waits
    for every child, even after one failed), so an orchestrator that says it is done is not done yet.
    """
    shim = _Shim(actions)
    for entry in history:
        shim.on_event(entry)
    shim.plan.awaiting = shim.position < len(actions) or (shim.current is not None and not shim.current.done)
    shim.plan.open_tasks = sorted(shim.open)
    scheduled = {int(e["EventId"]) for e in history if e["EventType"] in SCHEDULING_EVENTS}
    for task_id in sorted(shim.atomic):
        if task_id in scheduled:
            continue
        node = shim.atomic[task_id]
        action = node.action
        if node.kind == "activity":
            shim.plan.new_tasks.append(TaskStart(task_id, "activity", action["functionName"], action.get("input")))
        elif node.kind == "suborchestration":
            shim.plan.new_tasks.append(TaskStart(task_id, "suborchestration", action["functionName"],
                                                action.get("input"), instance_id=action.get("instanceId")))
        elif node.kind == "timer":
            if task_id not in shim.plan.cancelled_timers:
                shim.plan.new_tasks.append(TaskStart(task_id, "timer", fire_at=action["fireAt"]))
        elif node.kind == "retry-timer":
            shim.plan.new_tasks.append(TaskStart(task_id, "timer", delay_ms=action["delayMs"]))
    return shim.plan


