"""One process of the multi-process rate budget tests: `python -m tests.dsr.ratebudget_worker ...`.

Takes `--calls` slots of the resource's budget on `--threads` threads and prints, as JSON, the time each call
was allowed to go out (the budget's own clock). With `--emulator`, each slot is a real Training API call
(GetProjects) through a `TrainingClient` paced by the budget (or, with `--alone`, by this process's own bucket).
With `--hold`, it only reserves `max_held` slots, prints, and waits to be killed.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

from azure.storage.blob import ContainerClient

from customvision import Pacer, TokenBucket, TrainingClient
from dsr.ratebudget import SharedBudget, in_thread
from dsr.ratebudget_record import CONTAINER, BlobSlotStore, record_name


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connection-string", required=True)
    parser.add_argument("--endpoint", required=True, help="the resource the budget is for")
    parser.add_argument("--tps", type=float, required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--emulator-key", help="call the emulator at --endpoint with this training key")
    parser.add_argument("--alone", action="store_true", help="pace with this process's own bucket only")
    parser.add_argument("--hold", action="store_true", help="reserve max_held slots, then wait to be killed")
    args = parser.parse_args()

    container = ContainerClient.from_connection_string(args.connection_string, CONTAINER)
    store = BlobSlotStore(container, record_name(args.endpoint), endpoint=args.endpoint)
    budget = SharedBudget(store, args.tps, run_spare=in_thread)  # as dsr.clients.pacer_for makes it
    if args.hold:
        slots = budget._reserve(budget.max_held)
        print(json.dumps({"held": slots}), flush=True)
        time.sleep(3600)
        return 0
    pacer: Pacer = TokenBucket(args.tps) if args.alone else budget
    client = None
    if args.emulator_key:
        client = TrainingClient(args.endpoint, args.emulator_key, rate_limiter=pacer,  # type: ignore[arg-type]
                                retry_backoff_factor=0.05)
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [args.calls]

    def work() -> None:
        while True:
            with lock:
                if not remaining[0]:
                    return
                remaining[0] -= 1
            try:
                if client is not None:
                    list(client.list_projects())  # paced inside the client's pipeline
                    moment = time.time()
                else:
                    started = time.time()
                    moment = started + pacer.acquire()
            except Exception as exc:  # reported, so the test shows what went wrong
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            with lock:
                times.append(moment)

    threads = [threading.Thread(target=work) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out: dict[str, Any] = {"times": times, "errors": errors, "stats": budget.stats}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
