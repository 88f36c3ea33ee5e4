"""Scale-out: several devhost processes on one --state-dir share the task hub as scaled-out Azure instances do.

Three workers run one export of this repo's app against the emulator and Azurite; the one holding the most activity
work items is SIGKILLed mid-export. The others take its work over once its leases expire, and the export still
completes byte-exact against the emulator's ground truth, with nothing duplicated or missing. From the three logs:
no activity (and no orchestration episode) ran in two processes at the same time. A timer runs on one worker at a
time and moves to another when its holder dies. A worker stopped gracefully hands its work back at once.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from devhost.config import load_host_config
from localrun.azurite import Azurite
from localrun.devhost import Devhost
from localrun.process import REPO_ROOT
from tests.devhost.test_devhost_e2e import APPS, expected_fanout, fanout_env, start_fanout, triggers_app
from tests.e2e.helpers import app_env, exported_images, read_manifest, submit, truth_images, wait_until
from tests.fixtures.devhost import DevhostFactory
from tests.fixtures.emulator import EmulatorFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEED = "demo+synthetic:projects=1,images=1500"
LEASE_SECONDS = 6  # short, so the takeover comes soon (Azure Storage's partition leases last 30 s), renewed every 2 s
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ devhost \[(\S+) (\S+)\] (Executing|Executed) "
                      r"'Functions\.[^']+'(?: \(Reason='(instance [^']*)'\))?")


def hub_file(state: Path) -> Path:
    """The task hub's SQLite file: <state-dir>/<host.json hubName>.sqlite3."""
    return state / f"{load_host_config(REPO_ROOT).hub_name}.sqlite3"


def activity_leases(state: Path) -> dict[int, int]:
    """pid -> activity work items its worker holds now (read from the shared hub file, as any reader may)."""
    with sqlite3.connect(f"file:{hub_file(state)}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute("SELECT lease_owner, COUNT(*) FROM activities WHERE lease_owner IS NOT NULL "
                          "AND name = 'export_image_chunk' GROUP BY lease_owner").fetchall()
    return {int(owner.split(":")[-2]): count for owner, count in rows}


def poll_any(hosts: list[Devhost], request_id: str, *, timeout: float = 600) -> dict[str, Any]:
    """GET /api/requests/{id} from each worker in turn until the request ends (any worker answers)."""
    deadline, turn = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        response = hosts[turn % len(hosts)].get(f"api/requests/{request_id}")
        turn += 1
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in ("Completed", "Failed", "Terminated"):
            return body
        time.sleep(0.3)
    raise TimeoutError(f"request {request_id} did not finish")


def invocations(log: Path, killed_at: float | None) -> list[tuple[str, float, float]]:
    """(reason, start, end) of each orchestrator episode and activity in a devhost log; one still running when
    its process was killed ends at `killed_at`."""
    started: dict[str, tuple[str, float]] = {}
    spans = []
    for line in log.read_text(errors="replace").splitlines():
        found = LOG_LINE.match(line)
        if not found:
            continue
        stamp, _, invocation, verb, reason = found.groups()
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if verb == "Executing" and reason:
            started[invocation] = (reason, at)
        elif verb == "Executed" and invocation in started:
            reason, began = started.pop(invocation)
            spans.append((reason, began, at))
    if killed_at is not None:
        spans += [(reason, began, killed_at) for reason, began in started.values()]
    return spans


def test_export_completes_byte_exact_when_one_of_three_workers_is_killed(
    devhost_factory: DevhostFactory, emulator_factory: EmulatorFactory, azurite: Azurite, tmp_path: Path,
) -> None:
    emulator = emulator_factory(SEED, training_key="e2e-training-key-5bd1c0e9", tps=50)
    container_name = "e2e-scale-out"
    env = {**app_env(emulator, azurite, container_name), "DEVHOST_LEASE_SECONDS": str(LEASE_SECONDS)}
    state = tmp_path / "state"
    hosts = [devhost_factory(REPO_ROOT, env=env, state_dir=state) for _ in range(3)]
    request_id = "scale-out-export"
    submit(hosts[0], {"operation": "export", "requestId": request_id})

    # the moment of the crash: image chunks are being copied, and one worker holds at least two of them
    def busiest() -> int | None:
        held = activity_leases(state)
        pid, count = max(held.items(), key=lambda item: item[1], default=(None, 0))
        return pid if count >= 2 else None

    victim_pid = wait_until(busiest, timeout=300, what="a worker holding two image chunks")
    victim = next(h for h in hosts if h.pid == victim_pid)
    victim.kill()  # SIGKILL: its activities stop mid-copy, its leases are no longer renewed
    killed_at = time.time()
    survivors = [h for h in hosts if h is not victim]

    status = poll_any(survivors, request_id)
    assert status["status"] == "Completed", status
    assert all(r["status"] != "failed" for r in status["result"]["categories"].values()), status

    container = ContainerClient.from_connection_string(azurite.connection_string, container_name)
    manifest = read_manifest(container, request_id)
    assert exported_images(manifest) == truth_images(emulator.state())  # every image, byte-exact (sha256)
    listed = {f["path"] for f in manifest["files"]}
    blobs = {b.name[len(request_id) + 1:] for b in container.list_blobs(name_starts_with=f"{request_id}/")}
    assert blobs == listed | {"manifest.json"}  # nothing duplicated, nothing left over, nothing missing

    victim_log = victim.log_path.read_text(errors="replace")
    worker = re.search(r"^Worker (\S+) on task hub", victim_log, re.MULTILINE)
    assert worker is not None, victim_log[:2000]
    taken_over = [line for h in survivors for line in h.log_path.read_text(errors="replace").splitlines()
                  if "taken over from worker " + worker.group(1) in line]
    assert any("export_image_chunk" in line for line in taken_over), "no survivor took over the victim's chunks"

    spans = [span for h in hosts for span in invocations(h.log_path, killed_at if h is victim else None)]
    by_reason: dict[str, list[tuple[float, float]]] = {}
    for reason, began, ended in spans:
        by_reason.setdefault(reason, []).append((began, ended))
    assert any(" task " in reason and len(runs) > 1 for reason, runs in by_reason.items())  # chunks ran again
    for reason, runs in by_reason.items():
        runs.sort()
        for (_, first_end), (second_start, _) in itertools.pairwise(runs):
            assert second_start >= first_end, f"{reason} ran in two processes at once"


def test_a_timer_runs_on_one_worker_and_moves_when_it_dies(devhost_factory: DevhostFactory, tmp_path: Path) -> None:
    app_dir = triggers_app(tmp_path, schedule="*/1 * * * * *")
    ledger = tmp_path / "ticks"
    env = {"TICK_LEDGER": str(ledger), "DEVHOST_LEASE_SECONDS": "2"}
    state = tmp_path / "state"
    hosts = [devhost_factory(app_dir, env=env, state_dir=state) for _ in range(2)]

    def ticks() -> list[dict[str, Any]]:
        return [json.loads(line) for line in ledger.read_text().splitlines()] if ledger.exists() else []

    wait_until(lambda: len(ticks()) >= 4, timeout=30, what="four ticks")
    pids = {t["pid"] for t in ticks()}
    assert len(pids) == 1  # one worker fires the timer; the other waits for the listener lock
    holder = next(h for h in hosts if h.pid in pids)
    holder.kill()
    killed_at = time.time()
    other = next(h for h in hosts if h is not holder)
    wait_until(lambda: sum(t["pid"] == other.pid for t in ticks()) >= 3, timeout=30, what="ticks on the survivor")
    late = [t for t in ticks() if t["pid"] == holder.pid and datetime.fromisoformat(t["at"]).timestamp() > killed_at]
    assert late == []


def test_a_gracefully_stopped_worker_hands_its_work_back_at_once(devhost_factory: DevhostFactory,
                                                                 tmp_path: Path) -> None:
    """SIGTERM drains: work in flight finishes and its leases are released, so the next worker (here with leases of
    120 s, which a leftover claim would have to wait out) finishes the orchestration at once."""
    env = fanout_env(tmp_path)
    state = tmp_path / "state"
    first = devhost_factory(APPS / "fanout", state_dir=state, env={**env, "DEVHOST_LEASE_SECONDS": "120"})
    start_fanout(first, {"count": 30, "delay": 0.3}, instance_id="handed-over")
    ledger = tmp_path / "ledger"
    wait_until(lambda: ledger.exists() and len(ledger.read_text().split()) >= 5, timeout=30, what="work under way")
    first.stop()  # SIGTERM: a graceful stop
    assert "work item(s) in flight" not in first.log_path.read_text()  # everything drained

    second = devhost_factory(APPS / "fanout", state_dir=state, env={**env, "DEVHOST_LEASE_SECONDS": "120"})
    status = second.wait_for_status(f"{second.base_url}/runtime/webhooks/durabletask/instances/handed-over"
                                    f"?code={second.master_key}", timeout=60)
    assert status["runtimeStatus"] == "Completed" and status["output"] == expected_fanout(30)
