"""Leases on the shared task hub: what lets several devhost processes on one state dir act as scaled-out instances.

Two claimers never hold the same work item (real processes racing on one SQLite file); a lease that is not renewed
expires and another worker claims it, and the old holder can then neither complete nor commit; renewal keeps a
lease; a timer message is consumed by one episode only; a singleton lock runs a timer on one worker at a time.
Leases are measured on an injected clock, so no test depends on where the wall clock stands.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devhost import keys
from devhost.replay_protocol import EventType, event
from devhost.store import Episode, Outcome, Store
from devhost.timers import run_singleton

LEASE = 30.0


class Clock:
    """Epoch seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def worker_pair(path: Path, clock: Clock) -> tuple[Store, Store]:
    return (Store(path, owner="worker-a", lease_seconds=LEASE, clock=clock),
            Store(path, owner="worker-b", lease_seconds=LEASE, clock=clock))


def queue_activity(store: Store, instance_id: str = "i1", task_id: int = 0) -> None:
    """An instance whose episode scheduled one activity (as an episode's commit does)."""
    if store.get(instance_id) is None:
        store.create("orch", instance_id, None)
    current = store.get(instance_id)
    assert current is not None
    store.db.execute("INSERT INTO activities (instance_id, execution_id, task_id, name, input) VALUES (?,?,?,?,?)",
                     (instance_id, current.execution_id, task_id, "work", json.dumps(task_id)))


def started_episode(store: Store, instance_id: str = "i1") -> Episode:
    """A new instance, claimed by `store`, with its first episode loaded."""
    store.create("orch", instance_id, None)
    [claim] = store.claim_instances(5)
    episode = store.load_episode(claim.instance_id)
    assert episode is not None
    return episode


def done(task_id: int = 0) -> dict[str, Any]:
    return event(EventType.TASK_COMPLETED, datetime.now(UTC), TaskScheduledId=task_id, Result="1")


# --- two claimers never both get a work item -------------------------------------------------------------------


def _claim_until_empty(path: str, owner: str, kind: str, start: Any, out: Any) -> None:
    """In a child process: claim a few at a time until nothing is left; report every id claimed."""
    store = Store(path, owner=owner, lease_seconds=600)
    start.wait()  # every worker is ready: they race from here
    claimed: list[Any] = []
    idle = 0
    while idle < 20:  # empty for 20 tries in a row: the others hold the rest
        got = ([c.instance_id for c in store.claim_instances(3)] if kind == "instances"
               else [a.id for a in store.claim_activities(3)])
        claimed += got
        idle = 0 if got else idle + 1
        time.sleep(0.002)  # "running" what it claimed
    out.put((owner, claimed))


@pytest.mark.parametrize("kind", ["activities", "instances"])
def test_claimers_in_several_processes_never_get_the_same_work_item(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "hub.sqlite3"
    setup = Store(path)
    if kind == "activities":
        for task_id in range(300):
            queue_activity(setup, task_id=task_id)
        expected: set[Any] = {row[0] for row in setup.db.execute("SELECT id FROM activities")}
    else:
        for number in range(120):
            setup.create("orch", f"i{number}", None)  # each has its ExecutionStarted message queued
        expected = {f"i{number}" for number in range(120)}
    setup.close()

    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_claim_until_empty, args=(str(path), f"w{n}", kind, start, out))
               for n in range(3)]
    for process in workers:
        process.start()
    results = dict(out.get(timeout=120) for _ in workers)
    for process in workers:
        process.join(timeout=30)

    claimed = [item for items in results.values() for item in items]
    assert len(claimed) == len(set(claimed)), "a work item was claimed by two workers"
    assert set(claimed) == expected  # and none was lost
    assert sum(1 for items in results.values() if items) >= 2, results.keys()  # the race was real


def test_a_claimed_activity_is_invisible_to_other_workers(tmp_path: Path) -> None:
    a, b = worker_pair(tmp_path / "hub.sqlite3", Clock())
    queue_activity(a, task_id=0)
    queue_activity(a, task_id=1)
    [first] = a.claim_activities(1)
    [second] = b.claim_activities(5)
    assert (first.task_id, second.task_id) == (0, 1)
    assert a.claim_activities(5) == [] and b.claim_activities(5) == []


# --- an expired lease is claimed again; the old holder is fenced off -----------------------------------------


def test_an_expired_activity_lease_is_claimed_again_and_only_the_new_holder_completes(tmp_path: Path) -> None:
    clock = Clock()
    a, b = worker_pair(tmp_path / "hub.sqlite3", clock)
    queue_activity(a)
    [held] = a.claim_activities(5)
    assert (held.dequeue_count, held.previous_owner) == (1, None)
    clock.advance(LEASE - 0.001)
    assert b.claim_activities(5) == []  # still a's

    clock.advance(0.002)  # a died: its lease was not renewed
    [taken] = b.claim_activities(5)
    assert (taken.id, taken.dequeue_count, taken.previous_owner) == (held.id, 2, "worker-a")
    assert not a.complete_activity(held.id, done())  # a's late result is dropped ...
    assert b.complete_activity(taken.id, done())  # ... b's is posted, once
    results = a.db.execute("SELECT event FROM inbox WHERE instance_id = 'i1'").fetchall()
    assert [json.loads(r[0])["EventType"] for r in results].count(EventType.TASK_COMPLETED) == 1


def test_an_expired_instance_lease_is_taken_over_and_the_old_episode_does_not_commit(tmp_path: Path) -> None:
    clock = Clock()
    a, b = worker_pair(tmp_path / "hub.sqlite3", clock)
    episode_a = started_episode(a)
    assert b.claim_instances(5) == []  # one replay of an instance at a time

    clock.advance(LEASE + 1)
    [taken] = b.claim_instances(5)
    assert (taken.instance_id, taken.previous_owner) == ("i1", "worker-a")
    episode_b = b.load_episode("i1")
    assert episode_b is not None
    outcome = Outcome(new_history=episode_b.new_events, status="Running")
    assert not a.commit_episode(episode_a, Outcome(new_history=episode_a.new_events, status="Running"))
    assert b.commit_episode(episode_b, outcome)
    assert len(b.history("i1")) == 1  # only b's episode was applied
    assert b.get("i1").lease_owner is None  # type: ignore[union-attr]  # the commit released the instance


def test_a_timer_fires_once_even_with_two_workers(tmp_path: Path) -> None:
    clock = Clock()
    a, b = worker_pair(tmp_path / "hub.sqlite3", clock)
    episode = started_episode(a)
    fired = event(EventType.TIMER_FIRED, datetime.now(UTC), TimerId=0, FireAt="x")
    a.commit_episode(episode, Outcome(new_history=episode.new_events, status="Running",
                                      timers=[(0, clock.now + 5, fired)]))
    assert a.claim_instances(5) == [] and b.claim_instances(5) == []  # not due yet
    clock.advance(5)
    [first] = b.claim_instances(5)
    assert a.claim_instances(5) == []  # b holds it while its episode runs
    timer_episode = b.load_episode(first.instance_id)
    assert timer_episode is not None and [e["EventType"] for e in timer_episode.new_events] == [EventType.TIMER_FIRED]
    assert b.commit_episode(timer_episode, Outcome(new_history=timer_episode.new_events, status="Running"))
    clock.advance(LEASE * 3)
    assert a.claim_instances(5) == [] and b.claim_instances(5) == []  # consumed: it never fires again


# --- renewal keeps a lease ------------------------------------------------------------------------------------


def test_renewal_keeps_the_lease_and_reports_a_lost_one(tmp_path: Path) -> None:
    clock = Clock()
    a, b = worker_pair(tmp_path / "hub.sqlite3", clock)
    queue_activity(a)  # instance i1 (its ExecutionStarted queued) and one activity
    [activity] = a.claim_activities(5)
    [instance] = a.claim_instances(5)
    for _ in range(5):  # a heartbeat every 0.8 lease: 4 leases long, never claimable
        clock.advance(LEASE * 0.8)
        assert a.renew([instance.instance_id], [activity.id]) == ([], [])
        assert b.claim_activities(5) == [] and b.claim_instances(5) == []
    clock.advance(LEASE + 1)  # the heartbeat stopped (a hung): the lease runs out
    assert [x.id for x in b.claim_activities(5)] == [activity.id]
    assert [c.instance_id for c in b.claim_instances(5)] == ["i1"]
    assert a.renew(["i1"], [activity.id]) == (["i1"], [activity.id])  # a learns it lost both
    assert b.renew(["i1"], [activity.id]) == ([], [])


def test_released_work_is_claimable_at_once(tmp_path: Path) -> None:
    a, b = worker_pair(tmp_path / "hub.sqlite3", Clock())
    queue_activity(a)
    [activity] = a.claim_activities(5)
    [instance] = a.claim_instances(5)
    b.release_activity(activity.id)  # only the holder can release
    b.release_instance(instance.instance_id)
    assert b.claim_activities(5) == [] and b.claim_instances(5) == []
    a.release_activity(activity.id)
    a.release_instance(instance.instance_id)
    assert [x.id for x in b.claim_activities(5)] == [activity.id]
    assert [c.instance_id for c in b.claim_instances(5)] == ["i1"]


# --- singleton locks (timer listeners) ------------------------------------------------------------------------


def test_a_singleton_lock_has_one_holder_until_released_or_expired(tmp_path: Path) -> None:
    clock = Clock()
    a, b = worker_pair(tmp_path / "hub.sqlite3", clock)
    assert a.try_lock("tick.Listener") and not b.try_lock("tick.Listener")
    clock.advance(LEASE * 0.8)
    assert a.try_lock("tick.Listener")  # renewed
    clock.advance(LEASE * 0.8)
    assert not b.try_lock("tick.Listener")
    clock.advance(LEASE)
    assert b.try_lock("tick.Listener") and not a.try_lock("tick.Listener")  # a's expired: b took it
    a.release_lock("tick.Listener")  # not a's to release
    assert not a.try_lock("tick.Listener")
    b.release_lock("tick.Listener")
    assert a.try_lock("tick.Listener")


def test_run_singleton_runs_the_listener_on_one_worker_and_hands_it_over(tmp_path: Path) -> None:
    """Two workers supervise one timer listener on a shared lock (short real leases): it runs on one at a time; a
    graceful stop of the holder releases the lock and the other starts it."""
    path = tmp_path / "hub.sqlite3"
    stores = [Store(path, owner=f"w{n}", lease_seconds=3.0) for n in range(2)]  # renewed every 0.5 s: a wide margin
    running: list[str] = []
    overlap: list[list[str]] = []

    def listener(owner: str) -> Callable[[], Any]:
        async def run() -> None:
            running.append(owner)
            if len(running) > 1:
                overlap.append(list(running))
            try:
                await asyncio.Event().wait()  # a timer loop never ends on its own
            finally:
                running.remove(owner)
        return run

    async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)

    async def main() -> None:
        async def acquire(store: Store) -> bool:
            return store.try_lock("tick.Listener")

        async def release(store: Store) -> None:
            store.release_lock("tick.Listener")

        tasks = [asyncio.create_task(run_singleton("tick.Listener", listener(s.owner),
                                                   acquire=lambda s=s: acquire(s), release=lambda s=s: release(s),
                                                   interval=0.5)) for s in stores]
        await until(lambda: len(running) == 1)
        first = running[0]
        await asyncio.sleep(2.0)  # several renewals: still the same single holder
        assert running == [first]
        holder = tasks[int(first[1:])]
        holder.cancel()  # a graceful stop of the holder's devhost
        await asyncio.gather(holder, return_exceptions=True)
        await until(lambda: running == [f"w{1 - int(first[1:])}"])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    assert overlap == []


# --- the keys file ---------------------------------------------------------------------------------------------


def _load_keys(state_dir: str, start: Any, out: Any) -> None:
    start.wait()  # all three at once on an empty state dir
    found, _ = keys.load_or_create(Path(state_dir))
    out.put((found.function, found.system, found.master))


def test_processes_starting_together_agree_on_the_generated_keys(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_load_keys, args=(str(tmp_path), start, out)) for _ in range(3)]
    for process in workers:
        process.start()
    seen = {out.get(timeout=60) for _ in workers}
    for process in workers:
        process.join(timeout=30)
    stored = json.loads((tmp_path / keys.KEY_FILE).read_text())
    assert seen == {(stored["functionKey"], stored["systemKey"], stored["masterKey"])}
