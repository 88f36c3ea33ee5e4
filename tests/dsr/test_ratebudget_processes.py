"""The shared rate budget across real processes: one record in Azurite, several `python` processes.

- several processes hammering one budget stay within the rate: at most tps + 1 calls in any 1 s window of the
  times the budget let them go (the design's bound, measured on the one clock they share here);
- a process killed while holding slots costs the others at most `max_held / tps` seconds;
- against the emulator (its own limit), two processes paced by the shared budget draw ~0 429s, where two
  processes pacing themselves alone at the same rate draw 429s (the emulator's counter, not a timing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest
from azure.storage.blob import ContainerClient

from bench.windows import max_in_any_second as per_window
from dsr import ratebudget
from dsr.ratebudget import SharedBudget
from dsr.ratebudget_record import CONTAINER, BlobSlotStore, record_name
from localrun.azurite import Azurite
from localrun.emulator import Emulator
from localrun.process import REPO_ROOT

pytestmark = pytest.mark.slow


def _workers(azurite: Azurite, endpoint: str, tps: float, count: int, *extra: str,
             timeout: float = 120) -> list[dict]:
    argv = [sys.executable, "-m", "tests.dsr.ratebudget_worker", "--connection-string", azurite.connection_string,
            "--endpoint", endpoint, "--tps", str(tps), *extra]
    procs = [subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("threads", [4, 1])  # 1: each process a chain of calls, where spare slots are reserved
def test_processes_hammering_one_budget_stay_within_the_rate(azurite: Azurite, threads: int) -> None:
    tps = 20.0
    endpoint = f"https://budget-{uuid.uuid4().hex[:8]}.example"
    results = _workers(azurite, endpoint, tps, 4, "--threads", str(threads), "--calls", "25")
    times = [t for r in results for t in r["times"]]
    assert [r["errors"] for r in results] == [[], [], [], []]
    assert len(times) == 100 and all(len(r["times"]) == 25 for r in results)
    assert per_window(times) <= tps + 1, "more calls in a 1 s window than the resource allows"
    grace = ratebudget.GRACE_SHARE * ratebudget.SPACING / tps  # a call may go this late after its slot
    assert max(times) - min(times) >= (len(times) - 1) / tps - grace - 1e-3  # one rate for all, not one each
    assert all(r["stats"]["alone"] == 0 for r in results)  # every slot came from the shared record


def test_a_killed_process_wastes_at_most_its_held_slots(azurite: Azurite) -> None:
    tps = 10.0
    endpoint = f"https://budget-{uuid.uuid4().hex[:8]}.example"
    argv = [sys.executable, "-m", "tests.dsr.ratebudget_worker", "--connection-string", azurite.connection_string,
            "--endpoint", endpoint, "--tps", str(tps), "--hold"]
    holder = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()  # waits until it holds its slots
        held = json.loads(line)["held"]
    finally:
        holder.kill()
        holder.wait()
    assert len(held) == 5  # max_held at 10/s
    container = ContainerClient.from_connection_string(azurite.connection_string, CONTAINER)
    survivor = SharedBudget(BlobSlotStore(container, record_name(endpoint), endpoint=endpoint), tps)
    [slot] = survivor._reserve(1)
    now = time.time()
    # The survivor's next slot is right after the dead process's (no lease to expire, nothing to clean up)...
    assert slot <= max(max(held) + survivor.interval, now) + 1e-6
    # ...and never one of them.
    assert slot >= max(held) + survivor.interval - 1e-6


def test_two_clients_on_the_shared_budget_draw_no_429s(emulator_factory: Callable[..., Emulator],
                                                        azurite: Azurite) -> None:
    tps = 6
    emulator = emulator_factory("empty", tps=tps)
    # Alone: two processes, each pacing itself at the resource's rate, together call twice as fast.
    before = emulator.stats()
    alone = _workers(azurite, emulator.endpoint, tps, 2, "--threads", "3", "--calls", "12", "--alone",
                     "--emulator-key", emulator.training_key)
    throttled_alone = emulator.stats()["throttled"] - before["throttled"]
    assert all(r["errors"] == [] for r in alone)  # the client rides out the 429s (retries)...
    assert throttled_alone > 0  # ...but the service had to push back: pacing alone is not enough
    # Shared: the same two processes on one budget.
    emulator.reset("empty")  # a full bucket again, as at the start of the first run; counters zeroed
    before = emulator.stats()
    shared = _workers(azurite, emulator.endpoint, tps, 2, "--threads", "3", "--calls", "12",
                      "--emulator-key", emulator.training_key)
    after = emulator.stats()
    assert all(r["errors"] == [] for r in shared)
    assert after["calls"] - before["calls"] == 24  # no retries were needed
    assert after["throttled"] - before["throttled"] == 0


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers talk to loopback only."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
