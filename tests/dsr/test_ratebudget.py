"""The shared rate budget's logic (dsr/ratebudget.py) on an in-memory record and simulated clocks.

Several `SharedBudget`s on one store stand for several processes. Assertions are on counts of calls per 1 s
window of the granted times, with the tolerance the design gives (+1 for window alignment; + tps x 2e for a
clock skew of e), never on how long something took on this machine.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable

import pytest

from bench.windows import max_in_any_second as per_window
from customvision import TokenBucket
from dsr import ratebudget
from dsr.clients import pacer_for, reset_budgets
from dsr.ratebudget import MAX_AHEAD_SECONDS, RETRY_SHARED_SECONDS, SharedBudget
from dsr.ratebudget_record import Conflict, record_name
from dsr.settings import Settings, SettingsError


class MemoryStore:
    """A `SlotStore` in memory: an etag per version, conditional writes like the Blob service's."""

    def __init__(self, latency: float = 0.0, simulated: list[float] | None = None) -> None:
        self.latency = latency  # seconds each write takes, like a storage round trip: real time...
        self.simulated = simulated  # ...or, given the simulated world's clock, simulated time
        self.next_at = 0.0
        self.version = 0
        self.lock = threading.Lock()
        self.saves = 0
        self.fail: Exception | None = None
        self.conflicts_to_inject = 0

    def load(self) -> tuple[float, str | None]:
        if self.fail:
            raise self.fail
        with self.lock:
            return self.next_at, (str(self.version) if self.version else None)

    def save(self, next_at: float, etag: str | None) -> str:
        if self.fail:
            raise self.fail
        if self.latency and self.simulated is not None:
            self.simulated[0] += self.latency
        elif self.latency:
            time.sleep(self.latency)
        with self.lock:
            if self.conflicts_to_inject:
                self.conflicts_to_inject -= 1
                self.version += 1
                raise Conflict("injected")
            current = str(self.version) if self.version else None
            if etag != current:
                raise Conflict(f"etag {etag} != {current}")
            self.next_at, self.version = next_at, self.version + 1
            self.saves += 1
            return str(self.version)


class Clock:
    """Simulated time for one process: `offset` is its skew from true time; sleep advances true time."""

    def __init__(self, world: list[float], offset: float = 0.0) -> None:
        self.world, self.offset = world, offset

    def __call__(self) -> float:
        return self.world[0] + self.offset

    def sleep(self, seconds: float) -> None:
        self.world[0] += max(seconds, 0.0)


def _call(budget: SharedBudget, world: list[float]) -> float:
    """Acquire, then the (true) time the call goes out."""
    budget.acquire()
    return world[0]


def test_one_process_paces_at_the_configured_rate() -> None:
    world = [1_000.0]
    clock = Clock(world)
    budget = SharedBudget(MemoryStore(), 10, clock=clock, sleep=clock.sleep)
    times = [_call(budget, world) for _ in range(60)]
    assert per_window(times) <= 10 + 1
    assert times[-1] - times[0] >= 59 / 10 - 1e-9  # never faster than the rate


def test_many_processes_on_one_record_share_one_rate() -> None:
    world = [1_000.0]
    store = MemoryStore()
    clocks = [Clock(world) for _ in range(5)]
    budgets = [SharedBudget(store, 10, clock=c, sleep=c.sleep) for c in clocks]
    times = []
    for round_ in range(40):  # the processes take turns calling, each as fast as it is allowed
        for budget in budgets[round_ % 2:]:
            budget.acquire()
            times.append(world[0])
    assert per_window(times) <= 10 + 1
    assert times[-1] - times[0] >= (len(times) - 1) / 10 - 1e-9
    # batches: fewer writes than calls (a process reserves for the calls it has waiting; here one at a time)
    assert store.saves <= len(times)


def test_clock_skew_widens_the_window_by_the_skew_only() -> None:
    world = [1_000.0]
    store = MemoryStore()
    skew = 0.05  # one process 50 ms behind, one 50 ms ahead of true time
    clocks = [Clock(world, -skew), Clock(world, +skew), Clock(world, 0.0)]
    budgets = [SharedBudget(store, 10, clock=c, sleep=c.sleep) for c in clocks]
    times = []
    for round_ in range(60):
        budget = budgets[round_ % 3]
        budget.acquire()
        times.append(world[0])  # true time of the call
    assert per_window(times) <= 10 * (1 + 2 * skew) + 1


def test_a_process_that_dies_holding_slots_wastes_at_most_its_bounded_share() -> None:
    world = [1_000.0]
    store = MemoryStore()
    clock = Clock(world)
    doomed = SharedBudget(store, 10, clock=clock, sleep=clock.sleep)
    doomed._reserve(doomed.max_held)  # reserved for its waiting threads, then the process is killed
    assert doomed.max_held == 5
    survivor = SharedBudget(store, 10, clock=clock, sleep=clock.sleep)
    before = world[0]
    survivor.acquire()
    # 5 slots (0.51 s) of the budget lost, nothing to clean up
    assert world[0] - before <= doomed.max_held * ratebudget.SPACING / 10 + 1e-9


def test_a_slot_reached_too_late_is_forfeited_not_used() -> None:
    world = [1_000.0]
    clock = Clock(world)
    budget = SharedBudget(MemoryStore(), 10, clock=clock, sleep=clock.sleep)
    budget._free.extend(budget._reserve(3))
    world[0] += 0.5  # the waiting threads went away; the slots are in the past now
    budget.acquire()
    assert budget.stats["forfeited"] == 3
    late_sleep = clock.sleep

    def oversleep(seconds: float) -> None:  # the OS wakes the thread 2 slots late
        late_sleep(seconds + 0.2)

    budget._sleep = oversleep
    budget.acquire()  # the next slot is 0.1 s ahead: the thread wakes 0.2 s after it, and takes another
    assert budget.stats["forfeited"] == 4


def test_slow_writes_at_a_high_rate_neither_stall_nor_waste_the_budget() -> None:
    """At 1000/s a 7 ms write spans 7 slots: reservations start after the write and cover it."""
    world = [1_000.0]
    store = MemoryStore(latency=0.007, simulated=world)
    clock = Clock(world)
    budget = SharedBudget(store, 1000, clock=clock, sleep=clock.sleep)
    times = [_call(budget, world) for _ in range(300)]
    assert budget.stats["late"] == 0 and budget.stats["forfeited"] < 30
    assert budget.stats["reservations"] < 100  # several slots per write
    assert per_window(times) <= 1000 * (1 + ratebudget.MIN_GRACE) + 1


class BusyStore(MemoryStore):
    """Other processes always reserve 5 s of the budget right after each of our writes."""

    def save(self, next_at: float, etag: str | None) -> str:
        version = super().save(next_at, etag)
        with self.lock:
            self.next_at += 5.0
            self.version += 1
        return version


def test_an_overloaded_thread_goes_anyway_after_missing_its_slot_three_times() -> None:
    world = [1_000.0]
    clock = Clock(world)
    budget = SharedBudget(BusyStore(), 10, clock=clock, sleep=lambda seconds: clock.sleep(seconds + 1.0))
    budget.acquire()  # the first slot is now: no sleep
    budget.acquire()  # every later slot is ahead, and the thread wakes 1 s after it
    assert budget.stats["forfeited"] == 2 and budget.stats["late"] == 1


def test_a_429_pauses_every_process() -> None:
    world = [1_000.0]
    store = MemoryStore()
    clocks = [Clock(world), Clock(world)]
    told, other = (SharedBudget(store, 10, clock=c, sleep=c.sleep) for c in clocks)
    told.acquire()
    told.pause(3.0)
    before = world[0]
    other.acquire()
    assert world[0] - before >= 3.0 - 1e-9


def test_a_429_voids_the_slots_this_process_handed_out_but_not_reached() -> None:
    world = [1_000.0]
    clock = Clock(world)
    budget = SharedBudget(MemoryStore(), 10, clock=clock, sleep=clock.sleep)
    budget.acquire()

    def sleep_then_429(seconds: float) -> None:  # while this thread waits for its slot, another one got a 429
        clock.sleep(seconds)
        budget._sleep = clock.sleep
        budget.pause(2.0)

    budget._sleep = sleep_then_429
    before = world[0]
    budget.acquire()
    assert world[0] - before >= 2.0  # it did not go at its old slot, in the middle of the pause


def test_conflicting_writers_retry_with_the_new_record() -> None:
    world = [1_000.0]
    store = MemoryStore()
    store.conflicts_to_inject = 3
    clock = Clock(world)
    budget = SharedBudget(store, 10, clock=clock, sleep=clock.sleep)
    budget.acquire()
    assert budget.stats["conflicts"] == 3 and budget.stats["reservations"] == 1


def test_an_unavailable_record_falls_back_to_pacing_alone_then_retries(caplog: pytest.LogCaptureFixture) -> None:
    world = [1_000.0]
    store = MemoryStore()
    store.fail = ConnectionError("storage down")
    clock = Clock(world)
    budget = SharedBudget(store, 10, clock=clock, sleep=clock.sleep)
    with caplog.at_level(logging.WARNING, logger="dsr.ratebudget"):
        times = []
        for _ in range(20):
            budget.acquire()
            times.append(world[0])
    assert per_window(times) <= 11 and budget.stats["alone"] >= 20
    assert "pacing this process alone" in caplog.text and "storage down" not in caplog.text
    store.fail = None
    world[0] += RETRY_SHARED_SECONDS
    budget.acquire()
    assert budget.stats["reservations"] == 1 and store.saves == 1


def test_a_record_far_in_the_future_is_restarted(caplog: pytest.LogCaptureFixture) -> None:
    world = [1_000.0]
    store = MemoryStore()
    store.save(world[0] + MAX_AHEAD_SECONDS + 60, None)  # written by a process whose clock is an hour ahead
    clock = Clock(world)
    budget = SharedBudget(store, 10, clock=clock, sleep=clock.sleep)
    with caplog.at_level(logging.WARNING, logger="dsr.ratebudget"):
        budget.acquire()
    assert world[0] - 1_000.0 < 1 and "ahead of this clock" in caplog.text


def test_grace_must_stay_below_one_slot() -> None:
    with pytest.raises(ValueError, match="grace"):
        SharedBudget(MemoryStore(), 10, grace=ratebudget.SPACING / 10)  # one whole slot
    with pytest.raises(ValueError, match="tps"):
        SharedBudget(MemoryStore(), 0)


def test_threads_of_one_process_share_its_slots() -> None:
    """Real threads and the real clock: the granted times still hold the per-window bound."""
    budget = SharedBudget(MemoryStore(latency=0.01), 100)
    times: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(15):
            started = time.time()
            waited = budget.acquire()
            with lock:
                times.append(started + waited)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(times) == 120
    assert per_window(times) <= 100 + 1
    # threads that came while a write was in flight got their slots from the next write, several at a time
    assert budget.stats["reservations"] < 120


class Chain:
    """One thread making calls one after another, each taking `call_seconds` of simulated time; a spare slot's
    reservation runs while the call is in flight, as `in_thread` runs it beside the caller."""

    def __init__(self, world: list[float], call_seconds: float) -> None:
        self.world, self.call_seconds = world, call_seconds
        self.deferred: list[Callable[[], None]] = []

    def call(self, budget: SharedBudget) -> float:
        budget.acquire()
        sent = self.world[0]
        for work in self.deferred:  # the spare's write overlaps the call (it advances the simulated clock)
            work()
        self.deferred.clear()
        self.world[0] = max(self.world[0], sent + self.call_seconds)
        return sent


def _with_spares(store: MemoryStore, world: list[float]) -> tuple[SharedBudget, list[Callable[[], None]]]:
    """A budget on simulated time whose spare reservations wait in the returned list until the test runs them."""
    clock = Clock(world)
    deferred: list[Callable[[], None]] = []
    return SharedBudget(store, 10, clock=clock, sleep=clock.sleep, run_spare=deferred.append), deferred


def test_a_chain_of_calls_finds_its_next_slot_reserved_instead_of_writing_on_its_path() -> None:
    def chain(spares: bool) -> tuple[list[float], SharedBudget]:
        world = [1_000.0]
        clock = Clock(world)
        calls = Chain(world, call_seconds=0.07)  # a Training call with its round trip
        store = MemoryStore(latency=0.02, simulated=world)  # a storage round trip per write
        budget = SharedBudget(store, 10, clock=clock, sleep=clock.sleep,
                              run_spare=calls.deferred.append if spares else None)
        return [calls.call(budget) for _ in range(40)], budget

    without, _ = chain(spares=False)
    paced, budget = chain(spares=True)
    interval = ratebudget.SPACING / 10
    gaps = [b - a for a, b in itertools.pairwise(paced)]
    # Without spares each call waits for its own write and the lead after it (twice the write): slower than the
    # rate allows...
    assert min(b - a for a, b in itertools.pairwise(without)) >= 0.07 + 2 * 0.02 - 1e-9 > interval
    # ...with them every call after the second goes exactly one slot after the one before (the first went a write
    # after its slot, within the grace: no write time was known yet to start it later).
    assert all(abs(gap - interval) < 1e-9 for gap in gaps[1:]), gaps
    assert per_window(paced) <= 10 + 1
    assert budget.stats["spares"] >= 39 and budget.stats["forfeited"] == 0 and budget.stats["late"] == 0


def test_an_unused_spare_delays_another_process_by_at_most_one_slot() -> None:
    world = [1_000.0]
    store = MemoryStore()
    lone, deferred = _with_spares(store, world)
    lone.acquire()
    assert len(deferred) == 1
    deferred.pop()()  # the spare is reserved, and the chain ends: no call takes it
    assert lone.stats["spares"] == 1 and len(lone._free) == 1
    clock = Clock(world)
    other = SharedBudget(store, 10, clock=clock, sleep=clock.sleep)
    before = world[0]
    other.acquire()
    assert world[0] - before <= 2 * lone.interval + 1e-9  # after the lone call's slot and its unused spare


def test_no_spare_while_a_slot_is_free_and_none_once_another_process_writes() -> None:
    world = [1_000.0]
    store = MemoryStore()
    budget, deferred = _with_spares(store, world)
    budget._free.extend(budget._reserve(2))
    budget.acquire()
    assert deferred == []  # a slot is still free: the next call has one
    clock = Clock(world)
    other = SharedBudget(store, 10, clock=clock, sleep=clock.sleep)
    other._reserve(1)  # another process reserves a slot of the budget
    budget.acquire()  # the last free slot: a spare is tried...
    deferred.pop()()
    assert budget.stats["spares"] == 0 and not budget._free  # ...but the record changed: the slot is left to others
    assert store.saves == 2  # its write was refused, nothing reserved


def test_a_429_voids_a_spare_reserved_before_it() -> None:
    world = [1_000.0]
    budget, deferred = _with_spares(MemoryStore(), world)
    budget.acquire()
    deferred.pop()()
    assert len(budget._free) == 1  # the spare, 0.1 s ahead
    budget.pause(2.0)  # the call answered 429
    assert not budget._free
    before = world[0]
    budget.acquire()
    assert world[0] - before >= 2.0


def test_a_spare_that_cannot_start_leaves_the_calls_going() -> None:
    world = [1_000.0]
    clock = Clock(world)

    def no_threads(work: Callable[[], None]) -> None:
        raise RuntimeError("can't start new thread")

    budget = SharedBudget(MemoryStore(), 10, clock=clock, sleep=clock.sleep, run_spare=no_threads)
    times = [_call(budget, world) for _ in range(5)]
    assert per_window(times) <= 11 and budget.stats["spares"] == 0


def _settings(**env: str) -> Settings:
    return Settings.from_env({"CUSTOMVISION_ENDPOINT": "https://cv.example", "CUSTOMVISION_TRAINING_KEY": "k", **env})


@pytest.mark.parametrize(("env", "message"), [
    ({"RATE_BUDGET_SCOPE": "cluster"}, "RATE_BUDGET_SCOPE must be one of shared, process"),
    ({"CUSTOMVISION_TPS": "0"}, "CUSTOMVISION_TPS must be a positive number"),
    ({"CUSTOMVISION_TPS": "fast"}, "CUSTOMVISION_TPS must be a positive number"),
    ({"CUSTOMVISION_RESOURCES": '{"eu": {"endpoint": "https://eu.example", "tps": "-1"}}'},
     "CUSTOMVISION_RESOURCES.eu.tps must be a positive number"),
    ({"CUSTOMVISION_RESOURCES": '{"eu": {"endpoint": "https://eu.example", "tps": true}}'},
     "CUSTOMVISION_RESOURCES.eu.tps must be a positive number"),
])
def test_bad_budget_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        _settings(**env)


def test_settings_choose_the_pacer() -> None:
    reset_budgets()
    settings = _settings(CUSTOMVISION_TPS="2", EXPORT_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true")
    resource = settings.resource("default")
    assert resource.tps == 2.0 and settings.rate_budget_scope == "shared"
    shared = pacer_for(resource, settings)
    assert isinstance(shared, SharedBudget) and shared.tps == 2.0 and shared.max_held == 1
    assert pacer_for(resource, settings) is shared  # one budget per resource and process
    alone = _settings(RATE_BUDGET_SCOPE="process", EXPORT_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true")
    assert isinstance(pacer_for(alone.resource("default"), alone), TokenBucket)
    no_account = _settings()
    assert isinstance(pacer_for(no_account.resource("default"), no_account), TokenBucket)
    reset_budgets()


def test_one_record_per_endpoint_whatever_the_alias() -> None:
    name: Callable[[str], str] = record_name
    assert name("https://CV.example/") == name("https://cv.example")
    assert name("https://a.example") != name("https://b.example")


def test_a_failing_record_request_is_retried_within_a_second_not_after_the_blob_sdks_15_s(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Every Training call of the process waits while the record is read or written, so its retries must be quick:
    # the Blob SDK's own policy (ExponentialRetry) ignores azure-core's retry_backoff_factor and waits 15 +/- 3 s,
    # then 18 +/- 3 s (the bench once saw no Training call for 21 s). A server that drops every connection stands
    # for the failure; the transport's sleeps are recorded, not slept.
    from azure.core.exceptions import ServiceResponseError
    from azure.core.pipeline.transport import HttpTransport

    from dsr.ratebudget_record import RETRIES, BlobSlotStore, record_container

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[int] = []

    def drop_connections() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            connection.close()

    threading.Thread(target=drop_connections, daemon=True).start()
    slept: list[float] = []
    monkeypatch.setattr(HttpTransport, "sleep", lambda self, seconds: slept.append(seconds))
    key = "a2V5" * 22
    settings = _settings(EXPORT_STORAGE_CONNECTION_STRING=(
        f"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/acct;"))
    store = BlobSlotStore(record_container(settings), record_name("https://cv.example"), endpoint="https://cv.example")
    try:
        with caplog.at_level(logging.WARNING, logger="dsr.ratebudget"), pytest.raises(ServiceResponseError):
            store.save(1.0, "etag")
    finally:
        listener.close()
    assert len(slept) == RETRIES and len(accepted) == RETRIES + 1
    assert sum(slept) < 1.0  # not 15 s and more per retry
    assert caplog.text.count("rate budget record request failed") == RETRIES
    assert key not in caplog.text and str(port) not in caplog.text
