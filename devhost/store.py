"""SQLite task hub: instances, history, an inbox of orchestrator messages and an activity queue.

Every state change is one transaction, so a devhost killed at any point restarts from a
consistent state: inbox rows not yet consumed by an episode are replayed, activity rows not
yet completed are run again (at-least-once, as on Azure). Timers are inbox rows that become
visible at their due time.

Several devhost processes may share one file, as scaled-out instances share a task hub: work is
claimed with a lease (`lease_owner`, `lease_expires`) in a `BEGIN IMMEDIATE` transaction, so two
workers never hold the same instance or activity; a worker renews the leases of what it runs, and
a lease that was not renewed (its worker died) can be claimed by another after it expires. An
episode commits, and an activity completes, only while its worker still holds the lease.
Not thread-safe: a process calls it from one thread.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devhost.replay_protocol import EventType, event, iso, utc_now
from dsr.runtime_status import RUNNING_STATUSES, TERMINAL_STATUSES, RuntimeStatus

# How long a claim lasts unless renewed: DTFx Azure Storage's partition LeaseInterval (30 s, renewed every 10 s).
DEFAULT_LEASE_SECONDS = 30.0
BUSY_TIMEOUT_SECONDS = 30.0  # how long a writer waits for another process's write transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER,
    lease_owner TEXT,
    lease_expires REAL
);
CREATE INDEX IF NOT EXISTS instances_created ON instances (created_time);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    event TEXT NOT NULL,
    visible_at REAL NOT NULL,
    timer_id INTEGER
);
CREATE INDEX IF NOT EXISTS inbox_due ON inbox (visible_at);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox (instance_id);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT,
    lease_owner TEXT,
    lease_expires REAL,
    dequeue_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS activities_instance ON activities (instance_id);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
);
"""
# Columns a hub file written before scale-out lacks (added in place when such a file is opened).
ADDED_COLUMNS = {
    "instances": ("lease_owner TEXT", "lease_expires REAL"),
    "activities": ("lease_owner TEXT", "lease_expires REAL", "dequeue_count INTEGER NOT NULL DEFAULT 0"),
}


def worker_id() -> str:
    """This process's name on leases: host, pid and a random suffix (a restarted process is a new worker)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"



class InstanceExistsError(Exception):
    """An instance with this id is still running; the real host refuses to replace it."""


@dataclass
class Instance:
    """One row of `instances`."""

    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: str
    last_updated_time: str
    parent_instance_id: str | None
    parent_execution_id: str | None
    parent_task_id: int | None
    lease_owner: str | None = None
    lease_expires: float | None = None


@dataclass
class Episode:
    """What one orchestrator invocation needs: the instance, its history and new messages."""

    instance: Instance
    history: list[dict[str, Any]]
    inbox_ids: list[int]
    new_events: list[dict[str, Any]]


@dataclass
class Activity:
    """A queued activity invocation, as claimed by this worker."""

    id: int
    instance_id: str
    task_id: int
    name: str
    input: str | None
    dequeue_count: int = 1  # how many times a worker has claimed it (more than 1: taken over or retried)
    previous_owner: str | None = None  # the worker whose lease expired, when this claim took it over


@dataclass
class Claim:
    """An orchestration instance claimed by this worker, and the worker whose expired lease it took over."""

    instance_id: str
    previous_owner: str | None = None


@dataclass
class ChildStart:
    """A sub-orchestration to create as part of an episode."""

    instance_id: str
    name: str
    input: str | None
    task_id: int


@dataclass
class Outcome:
    """Everything an episode changes, applied in one transaction by `commit_episode`."""

    new_history: list[dict[str, Any]]
    status: str
    custom_status: Any = None
    output: Any = None
    activities: list[tuple[int, str, str | None]] = field(default_factory=list)
    timers: list[tuple[int, float, dict[str, Any]]] = field(default_factory=list)
    children: list[ChildStart] = field(default_factory=list)
    cancelled_timers: list[int] = field(default_factory=list)
    continue_input: str | None = None
    continued: bool = False
    details: str | None = None  # a failure's details, handed to a parent orchestration


class Store:
    """The task hub in one SQLite file (WAL mode), shared by every worker given the same file.

    `owner` names this worker on its leases; a lease lasts `lease_seconds` unless renewed; `clock` gives the
    epoch seconds leases and timers are measured in (the same on every process of a machine).
    """

    def __init__(self, path: Path | str, *, owner: str | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 clock: Callable[[], float] = time.time):
        self.path = str(path)
        self.owner = owner or worker_id()
        self.lease_seconds = lease_seconds
        self.clock = clock
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                  timeout=BUSY_TIMEOUT_SECONDS)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        with self._tx():
            for table, columns in ADDED_COLUMNS.items():
                present = {row["name"] for row in self.db.execute(f"PRAGMA table_info({table})")}
                for column in columns:
                    if column.split()[0] not in present:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    def close(self) -> None:
        self.db.close()

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)

    # --- instances ---------------------------------------------------------------------------

    def get(self, instance_id: str) -> Instance | None:
        row = self.db.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
        return Instance(**dict(row)) if row else None

    def create(self, name: str, instance_id: str, input_json: str | None) -> Instance:
        """Start a new orchestration; refuse if one with this id is still running."""
        with self._tx():
            existing = self.get(instance_id)
            if existing and existing.status in RUNNING_STATUSES:
                raise InstanceExistsError(
                    f"An Orchestration instance with the status {existing.status} already exists.")
            self._start(ChildStart(instance_id, name, input_json, -1), parent=None)
        instance = self.get(instance_id)
        assert instance is not None
        return instance

    def _start(self, child: ChildStart, parent: Instance | None) -> None:
        """Insert (or replace) an instance and queue its ExecutionStarted, inside a transaction."""
        now = utc_now()
        self._delete_instance(child.instance_id)
        execution_id = uuid.uuid4().hex
        self.db.execute(
            "INSERT INTO instances (instance_id, name, execution_id, status, input, output, custom_status, "
            "created_time, last_updated_time, parent_instance_id, parent_execution_id, parent_task_id) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (child.instance_id, child.name, execution_id, RuntimeStatus.PENDING, child.input, None, None, iso(now),
             iso(now),
             parent.instance_id if parent else None, parent.execution_id if parent else None,
             child.task_id if parent else None),
        )
        started = event(EventType.EXECUTION_STARTED, now, Name=child.name, Input=child.input, Version="",
                        OrchestrationInstance={"InstanceId": child.instance_id, "ExecutionId": execution_id},
                        ParentInstance=({"OrchestrationInstance": {"InstanceId": parent.instance_id}}
                                        if parent else None))
        self._post(child.instance_id, execution_id, started)

    def _post(self, instance_id: str, execution_id: str, message: dict[str, Any], *,
              visible_at: float | None = None, timer_id: int | None = None) -> None:
        self.db.execute(
            "INSERT INTO inbox (instance_id, execution_id, event, visible_at, timer_id) VALUES (?,?,?,?,?)",
            (instance_id, execution_id, json.dumps(message), visible_at or self.clock(), timer_id),
        )

    def _deliver(self, instance_id: str, execution_id: str, message: dict[str, Any]) -> None:
        """Post a result to an execution that is still running; one that ended, was replaced or purged drops it."""
        current = self.get(instance_id)
        if current is not None and current.execution_id == execution_id and current.status not in TERMINAL_STATUSES:
            self._post(instance_id, execution_id, message)

    def _delete_instance(self, instance_id: str) -> None:
        """Drop an instance's state; its queued activities run anyway (as on Azure), their results dropped."""
        for table in ("instances", "history", "inbox"):
            self.db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))

    # --- orchestrator work -------------------------------------------------------------------

    def claim_instances(self, limit: int) -> list[Claim]:
        """Lease up to `limit` instances with visible messages, oldest message first, that no worker holds (or
        whose holder's lease expired): the instance lock that makes one worker at a time replay an instance."""
        query = ("SELECT i.instance_id, i.lease_owner, MIN(m.id) AS first FROM inbox m "
                 "JOIN instances i ON i.instance_id = m.instance_id "
                 "WHERE m.visible_at <= ? AND i.status != 'Suspended' "
                 "AND (i.lease_owner IS NULL OR i.lease_expires <= ?) "
                 "GROUP BY i.instance_id ORDER BY first LIMIT ?")
        now = self.clock()
        if limit <= 0 or not self.db.execute(query, (now, now, 1)).fetchone():  # a read first: idle polls never write
            return []
        with self._tx():
            now = self.clock()
            rows = self.db.execute(query, (now, now, limit)).fetchall()
            self.db.executemany("UPDATE instances SET lease_owner = ?, lease_expires = ? WHERE instance_id = ?",
                                [(self.owner, now + self.lease_seconds, r["instance_id"]) for r in rows])
        return [Claim(r["instance_id"], r["lease_owner"]) for r in rows]

    def release_instance(self, instance_id: str) -> None:
        """Give up this worker's lease on an instance (its episode did not commit): any worker may claim it now."""
        with self._tx():
            self.db.execute("UPDATE instances SET lease_owner = NULL, lease_expires = NULL "
                            "WHERE instance_id = ? AND lease_owner = ?", (instance_id, self.owner))

    def next_due(self) -> float | None:
        """When the earliest not-yet-visible message (a timer) becomes visible."""
        row = self.db.execute("SELECT MIN(visible_at) FROM inbox WHERE visible_at > ?", (self.clock(),)).fetchone()
        return row[0]

    def load_episode(self, instance_id: str) -> Episode | None:
        """The instance, its history (one query) and its visible messages; None if nothing to do."""
        instance = self.get(instance_id)
        if instance is None or instance.status in TERMINAL_STATUSES:
            with self._tx():
                self.db.execute("DELETE FROM inbox WHERE instance_id = ?", (instance_id,))
            return None
        with self._tx():
            self.db.execute("DELETE FROM inbox WHERE instance_id = ? AND execution_id != ?",
                            (instance_id, instance.execution_id))
        rows = self.db.execute(
            "SELECT id, event FROM inbox WHERE instance_id = ? AND visible_at <= ? ORDER BY visible_at, id",
            (instance_id, self.clock()),
        ).fetchall()
        if not rows:
            return None
        history = [json.loads(r[0]) for r in self.db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))]
        return Episode(instance, history, [r["id"] for r in rows], [json.loads(r["event"]) for r in rows])

    def commit_episode(self, episode: Episode, outcome: Outcome) -> bool:
        """Apply an episode's outcome atomically and release the instance; False (nothing applied) if the instance
        changed meanwhile or this worker no longer holds its lease (another worker took it over)."""
        instance = episode.instance
        with self._tx():
            current = self.get(instance.instance_id)
            if current is None or current.execution_id != instance.execution_id or current.status in TERMINAL_STATUSES:
                return False
            if current.lease_owner != self.owner:
                return False
            marks = ",".join("?" * len(episode.inbox_ids))
            self.db.execute(f"DELETE FROM inbox WHERE id IN ({marks})", episode.inbox_ids)
            self.release_instance(instance.instance_id)
            if outcome.continued:
                self._continue_as_new(current, outcome)
                return True
            self._append_history(instance.instance_id, len(episode.history), outcome.new_history)
            for task_id, name, input_json in outcome.activities:
                self.db.execute(
                    "INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?,?,?,?,?)",
                    (instance.instance_id, instance.execution_id, task_id, name, input_json))
            for task_id, due, fired in outcome.timers:
                self._post(instance.instance_id, instance.execution_id, fired, visible_at=due, timer_id=task_id)
            for task_id in outcome.cancelled_timers:
                self.db.execute("DELETE FROM inbox WHERE instance_id = ? AND timer_id = ?",
                                (instance.instance_id, task_id))
            for child in outcome.children:
                existing = self.get(child.instance_id)
                if existing and existing.status in RUNNING_STATUSES:
                    failed = event(EventType.SUB_ORCHESTRATION_INSTANCE_FAILED, utc_now(),
                                   TaskScheduledId=child.task_id,
                                   Reason=f"An instance with ID '{child.instance_id}' is already running.",
                                   Details="")
                    self._post(instance.instance_id, instance.execution_id, failed)
                else:
                    self._start(child, parent=current)
            custom = outcome.custom_status if outcome.custom_status is not None else _load(current.custom_status)
            suspended = current.status == RuntimeStatus.SUSPENDED and outcome.status == RuntimeStatus.RUNNING
            status = RuntimeStatus.SUSPENDED if suspended else outcome.status
            self._set_status(current, status, outcome.output, custom,  # as the shim: no status, no change
                             details=outcome.details)
        return True

    def _continue_as_new(self, current: Instance, outcome: Outcome) -> None:
        """Start a fresh execution of the same instance with the new input, keeping the parent link."""
        now = utc_now()
        execution_id = uuid.uuid4().hex
        for table in ("history", "inbox"):  # the old execution's queued activities still run, results dropped
            self.db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (current.instance_id,))
        self.db.execute(
            "UPDATE instances SET execution_id = ?, status = 'ContinuedAsNew', input = ?, output = NULL, "
            "custom_status = ?, last_updated_time = ? WHERE instance_id = ?",
            (execution_id, outcome.continue_input, _dump(outcome.custom_status), iso(now), current.instance_id))
        started = event(EventType.EXECUTION_STARTED, now, Name=current.name, Input=outcome.continue_input,
                        Version="", OrchestrationInstance={"InstanceId": current.instance_id,
                                                           "ExecutionId": execution_id})
        self._post(current.instance_id, execution_id, started)

    def _append_history(self, instance_id: str, start: int, events: list[dict[str, Any]]) -> None:
        self.db.executemany(
            "INSERT INTO history (instance_id, seq, event) VALUES (?,?,?)",
            [(instance_id, start + i, json.dumps(e)) for i, e in enumerate(events)],
        )

    def _set_status(self, current: Instance, status: str, output: Any, custom_status: Any, *,
                    details: str | None = None) -> None:
        """Update status; a terminal status drops the instance's own pending messages (timers, events) and
        notifies the parent. Queued activities stay: on Azure their work items run even after the orchestration
        ended or was terminated; their results are then dropped."""
        self.db.execute(
            "UPDATE instances SET status = ?, output = ?, custom_status = ?, last_updated_time = ? "
            "WHERE instance_id = ?",
            (status, _dump(output), _dump(custom_status), iso(utc_now()), current.instance_id))
        if status not in TERMINAL_STATUSES:
            return
        self.db.execute("DELETE FROM inbox WHERE instance_id = ?", (current.instance_id,))
        if current.parent_instance_id and current.parent_execution_id:
            now = utc_now()
            if status == RuntimeStatus.COMPLETED:
                note = event(EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, now,
                             TaskScheduledId=current.parent_task_id, Result=_dump(output))
            else:
                note = event(EventType.SUB_ORCHESTRATION_INSTANCE_FAILED, now,
                             TaskScheduledId=current.parent_task_id,
                             Reason=str(output) if output is not None else status, Details=details or "")
            self._deliver(current.parent_instance_id, current.parent_execution_id, note)

    # --- activities --------------------------------------------------------------------------

    def claim_activities(self, limit: int) -> list[Activity]:
        """Lease up to `limit` queued activities no worker holds (or whose holder's lease expired), oldest first:
        a work item is invisible to other workers while its lease lasts, as a dequeued queue message is."""
        query = ("SELECT id, instance_id, task_id, name, input, lease_owner, dequeue_count FROM activities "
                 "WHERE lease_owner IS NULL OR lease_expires <= ? ORDER BY id LIMIT ?")
        if limit <= 0 or not self.db.execute(query, (self.clock(), 1)).fetchone():  # idle polls never write
            return []
        with self._tx():
            now = self.clock()
            rows = self.db.execute(query, (now, limit)).fetchall()
            self.db.executemany("UPDATE activities SET lease_owner = ?, lease_expires = ?, "
                                "dequeue_count = dequeue_count + 1 WHERE id = ?",
                                [(self.owner, now + self.lease_seconds, r["id"]) for r in rows])
        return [Activity(r["id"], r["instance_id"], r["task_id"], r["name"], r["input"],
                         dequeue_count=r["dequeue_count"] + 1, previous_owner=r["lease_owner"]) for r in rows]

    def complete_activity(self, activity_id: int, outcome: dict[str, Any]) -> bool:
        """Remove the work item and post its TaskCompleted/TaskFailed in one transaction, if this worker still
        holds it; False (nothing changed) when it is gone or another worker took it over."""
        with self._tx():
            row = self.db.execute("SELECT instance_id, execution_id FROM activities WHERE id = ? AND lease_owner = ?",
                                  (activity_id, self.owner)).fetchone()
            if row is None:
                return False
            self.db.execute("DELETE FROM activities WHERE id = ?", (activity_id,))
            self._deliver(row["instance_id"], row["execution_id"], outcome)
        return True

    def release_activity(self, activity_id: int) -> None:
        """Abandon a claimed activity: any worker may run it again now."""
        with self._tx():
            self.db.execute("UPDATE activities SET lease_owner = NULL, lease_expires = NULL "
                            "WHERE id = ? AND lease_owner = ?", (activity_id, self.owner))

    # --- leases ------------------------------------------------------------------------------

    def renew(self, instance_ids: Iterable[str], activity_ids: Iterable[int]) -> tuple[list[str], list[int]]:
        """Extend this worker's leases on what it is running; (instances, activities) it no longer holds."""
        instances, activities = list(instance_ids), list(activity_ids)
        lost_instances: list[str] = []
        lost_activities: list[int] = []
        with self._tx():
            expires = self.clock() + self.lease_seconds
            for instance_id in instances:
                if not self.db.execute("UPDATE instances SET lease_expires = ? "
                                       "WHERE instance_id = ? AND lease_owner = ?",
                                       (expires, instance_id, self.owner)).rowcount:
                    lost_instances.append(instance_id)
            for activity_id in activities:
                if not self.db.execute("UPDATE activities SET lease_expires = ? WHERE id = ? AND lease_owner = ?",
                                       (expires, activity_id, self.owner)).rowcount:
                    lost_activities.append(activity_id)
        return lost_instances, lost_activities

    def try_lock(self, name: str) -> bool:
        """Take or renew the named singleton lock (a timer's listener lock); False while another worker holds it."""
        with self._tx():
            now = self.clock()
            row = self.db.execute("SELECT owner, expires FROM locks WHERE name = ?", (name,)).fetchone()
            if row is not None and row["owner"] != self.owner and row["expires"] > now:
                return False
            self.db.execute("INSERT INTO locks (name, owner, expires) VALUES (?,?,?) "
                            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires",
                            (name, self.owner, now + self.lease_seconds))
        return True

    def release_lock(self, name: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, self.owner))

    # --- management API ----------------------------------------------------------------------

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))]

    def query(self, *, statuses: list[str] | None = None, created_from: datetime | None = None,
              created_to: datetime | None = None, prefix: str | None = None,
              limit: int | None = None) -> list[Instance]:
        """Instances matching every given filter, oldest first."""
        sql, args = "SELECT * FROM instances WHERE 1=1", []
        if statuses:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args += statuses
        if created_from:
            sql += " AND created_time >= ?"
            args.append(iso(created_from))
        if created_to:
            sql += " AND created_time <= ?"
            args.append(iso(created_to))
        if prefix:
            sql += " AND substr(instance_id, 1, ?) = ?"
            args += [len(prefix), prefix]
        sql += " ORDER BY created_time"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [Instance(**dict(r)) for r in self.db.execute(sql, args)]

    def query_page(self, *, page_size: int, after: tuple[str, str] | None = None,
                   **filters: Any) -> tuple[list[Instance], tuple[str, str] | None]:
        """One page of `query`, ordered by (created_time, instance_id), starting after the key `after`;
        (instances, the key to continue after, or None on the last page). Keyset paging: instances purged
        or added meanwhile never shift the pages that follow."""
        found = self.query(**filters)
        if after is not None:
            found = [i for i in found if (i.created_time, i.instance_id) > after]
        found.sort(key=lambda i: (i.created_time, i.instance_id))
        page = found[:page_size]
        more = len(found) > page_size
        return page, ((page[-1].created_time, page[-1].instance_id) if more and page else None)

    def terminate(self, instance_id: str, reason: str) -> str:
        """'ok', 'missing' or 'gone' (already finished), like the HTTP API's 202/404/410."""
        with self._tx():
            current = self.get(instance_id)
            if current is None:
                return "missing"
            if current.status in TERMINAL_STATUSES:
                return "gone"
            self._append_history(instance_id, self._history_length(instance_id),
                                 [event(EventType.EXECUTION_TERMINATED, utc_now(), Input=reason)])
            self._set_status(current, RuntimeStatus.TERMINATED, reason, _load(current.custom_status))
        return "ok"

    def raise_event(self, instance_id: str, name: str, data_json: str | None) -> str:
        """'ok', 'missing' or 'gone'; queues an EventRaised message."""
        with self._tx():
            current = self.get(instance_id)
            if current is None:
                return "missing"
            if current.status in TERMINAL_STATUSES:
                return "gone"
            self._post(instance_id, current.execution_id,
                       event(EventType.EVENT_RAISED, utc_now(), Name=name, Input=data_json))
        return "ok"

    def set_suspended(self, instance_id: str, suspended: bool) -> str:
        """Suspend or resume: 'ok', 'missing' or 'gone'; a suspended instance's messages wait in the inbox."""
        with self._tx():
            current = self.get(instance_id)
            if current is None:
                return "missing"
            if current.status in TERMINAL_STATUSES:
                return "gone"
            if suspended or current.status == RuntimeStatus.SUSPENDED:
                self.db.execute("UPDATE instances SET status = ?, last_updated_time = ? WHERE instance_id = ?",
                                (RuntimeStatus.SUSPENDED if suspended else RuntimeStatus.RUNNING, iso(utc_now()),
                                 instance_id))
        return "ok"

    def purge(self, instance_ids: list[str]) -> int:
        """Delete finished instances with their history; running ones are left alone."""
        deleted = 0
        with self._tx():
            for instance_id in instance_ids:
                current = self.get(instance_id)
                if current is not None and current.status in TERMINAL_STATUSES:
                    self._delete_instance(instance_id)
                    deleted += 1
        return deleted

    def _history_length(self, instance_id: str) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(seq), -1) FROM history WHERE instance_id = ?",
                              (instance_id,)).fetchone()
        return int(row[0]) + 1


class _Transaction:
    """BEGIN IMMEDIATE .. COMMIT, or ROLLBACK on error; re-entrant within one thread."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.owner = False

    def __enter__(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.owner = True

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self.owner:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
