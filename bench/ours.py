"""Our export and delete, as a user runs them: POST /api/requests on devhost, poll until done."""

from __future__ import annotations

import time
import uuid
from typing import Any, TypedDict

from bench.memory import MemoryPeak, MemorySampler
from bench.stack import BenchStack
from bench.windows import call_rate
from dsr.runtime_status import TERMINAL_STATUSES

TERMINAL = TERMINAL_STATUSES
TIMED_OUT = "TimedOut"  # the bench gave up waiting (and cancelled the request)
POLL_SECONDS = 0.05  # the wall time is known to within one poll (a status GET: a few ms of devhost time)


class EmulatorCounts(TypedDict):
    """What the emulator answered during one run (differences of `/_emulator/stats`)."""

    calls: int
    throttled: int  # 429s (the limiter's, or injected)
    faults: int
    byOperation: dict[str, int]


class OursRun(TypedDict, total=False):
    requestId: str
    operation: str
    status: str  # the request's final runtime status, or TimedOut
    resultStatus: str | None  # "completed", "completed_with_errors", ...
    wallSeconds: float
    images: int  # images exported (unique files) or deleted (copies removed, per the receipt)
    imagesPerSecond: float
    emulator: EmulatorCounts
    memory: MemoryPeak | None
    categories: dict[str, Any]


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> EmulatorCounts:
    ops = {k: v - before["byOperation"].get(k, 0) for k, v in after["byOperation"].items()}
    return EmulatorCounts(
        calls=after["calls"] - before["calls"],
        throttled=after["throttled"] - before["throttled"],
        faults=after["faults"] - before["faults"],
        byOperation={k: v for k, v in sorted(ops.items()) if v},
    )


def run_requests(
    stack: BenchStack, bodies: list[dict[str, Any]], *, timeout: float, measure_memory: bool = True
) -> tuple[list[dict[str, Any]], list[float], float, EmulatorCounts, MemoryPeak | None, dict[str, Any]]:
    """Submit every body at once, poll each to its end; (final answers, per-request wall seconds, total wall
    seconds, emulator counts, memory peak of every devhost process, the network: Training calls per 1 s window
    and storage requests, from the delay proxy)."""
    before = stack.emulator.stats()
    sampler = MemorySampler(stack.devhost_pids) if measure_memory else None
    if sampler:
        sampler.__enter__()
    try:
        started_at = time.time()
        started = time.perf_counter()
        ids = []
        for index, body in enumerate(bodies):  # spread over the workers, as a load balancer would
            response = stack.devhosts[index % len(stack.devhosts)].post("api/requests", json=body)
            if response.status_code != 202:
                raise RuntimeError(f"POST /api/requests answered {response.status_code}: {response.text[:500]}")
            ids.append(response.json()["id"])
        answers, walls = _wait_all(stack, ids, started, timeout=timeout)
        wall = time.perf_counter() - started
        ended_at = time.time()
    finally:
        if sampler:
            sampler.__exit__(None, None, None)
    counts = stats_delta(before, stack.emulator.stats())
    network = {"rttMs": stack.netem.rtt_ms if stack.netem else 0.0,
               "trainingCallsPerSecond": call_rate(stack.training_requests(started_at, ended_at), started_at, ended_at),
               "storageRequests": stack.storage_requests(started_at, ended_at)}
    return answers, walls, wall, counts, sampler.peak() if sampler else None, network


def _wait_all(stack: BenchStack, request_ids: list[str], started: float, *,
              timeout: float) -> tuple[list[dict[str, Any]], list[float]]:
    """Poll every request (round robin over the devhost workers) until each is terminal or `timeout` passes;
    a request still running then is cancelled and recorded as TimedOut."""
    deadline = time.monotonic() + timeout
    answers: dict[str, dict[str, Any]] = {}
    walls: dict[str, float] = {}
    turn = 0
    while len(answers) < len(request_ids) and time.monotonic() < deadline:
        for request_id in request_ids:
            if request_id in answers:
                continue
            worker = stack.devhosts[turn % len(stack.devhosts)]
            turn += 1
            response = worker.get(f"api/requests/{request_id}")
            if response.status_code == 200 and response.json()["status"] in TERMINAL:
                answers[request_id] = response.json()
                walls[request_id] = time.perf_counter() - started
        if len(answers) < len(request_ids):
            time.sleep(POLL_SECONDS)
    for request_id in request_ids:
        if request_id not in answers:  # recorded, not raised: the rest of the run still measures
            stack.devhost.delete(f"api/requests/{request_id}")
            answers[request_id] = {"status": TIMED_OUT, "result": None}
            walls[request_id] = time.perf_counter() - started
    return [answers[i] for i in request_ids], [walls[i] for i in request_ids]


def export(stack: BenchStack, categories: list[str], *, timeout: float, concurrent: int = 1,
           projects: list[str] | None = None) -> OursRun:
    """Our export of every project; with `concurrent` > 1, that many requests at once, on disjoint projects."""
    return _operation(stack, "export", categories, timeout=timeout, concurrent=concurrent, projects=projects)


def delete(stack: BenchStack, categories: list[str], *, timeout: float, concurrent: int = 1,
           projects: list[str] | None = None) -> OursRun:
    """Our delete of every project; with `concurrent` > 1, that many requests at once, on disjoint projects."""
    return _operation(stack, "delete", categories, timeout=timeout, concurrent=concurrent, projects=projects)


def split(projects: list[str], parts: int) -> list[list[str]]:
    """`projects` dealt into `parts` non-empty groups (requests on one resource, each its own projects)."""
    if parts > len(projects):
        raise ValueError(f"{parts} concurrent requests need at least {parts} projects (got {len(projects)}): "
                         "use --projects")
    return [projects[i::parts] for i in range(parts)]


def _operation(stack: BenchStack, operation: str, categories: list[str], *, timeout: float, concurrent: int,
               projects: list[str] | None) -> OursRun:
    tag = uuid.uuid4().hex[:12]
    groups: list[list[str] | None] = [None] if concurrent == 1 else list(split(projects or [], concurrent))
    bodies = []
    for index, group in enumerate(groups):
        body: dict[str, Any] = {"operation": operation, "resource": "default", "categories": categories,
                                "requestId": f"bench-{operation}-{tag}" + (f"-{index}" if concurrent > 1 else "")}
        if group is not None:
            body["projects"] = group
        if operation == "delete":
            body["confirm"] = "default"
        bodies.append(body)
    answers, walls, wall, counts, memory, network = run_requests(stack, bodies, timeout=timeout)
    runs = [_run(body["requestId"], operation, answer, one_wall, _images(answer), counts, memory)
            for body, answer, one_wall in zip(bodies, answers, walls, strict=True)]
    if concurrent == 1:
        result = runs[0]
    else:
        statuses = {r["status"] for r in runs}
        result = _run(f"bench-{operation}-{tag}", operation,
                      {"status": statuses.pop() if len(statuses) == 1 else "Mixed", "result": None},
                      wall, sum(r["images"] for r in runs), counts, memory)
        result["requests"] = [{k: r[k] for k in ("requestId", "status", "resultStatus", "wallSeconds", "images",
                                                  "categories")} for r in runs]  # type: ignore[typeddict-item]
    result["network"] = network  # type: ignore[typeddict-unknown-key]
    result["concurrent"] = concurrent  # type: ignore[typeddict-unknown-key]
    return result


def _images(answer: dict[str, Any]) -> int:
    result = answer.get("result") or {}
    return int(((result.get("categories") or {}).get("images") or {}).get("count") or 0)


def _run(request_id: str, operation: str, answer: dict[str, Any], wall: float, images: int,
         counts: EmulatorCounts, memory: MemoryPeak | None) -> OursRun:
    result = answer.get("result") or {}
    return OursRun(
        requestId=request_id,
        operation=operation,
        status=answer.get("status", "Unknown"),
        resultStatus=result.get("status"),
        wallSeconds=round(wall, 3),
        images=images,
        imagesPerSecond=round(images / wall, 1) if wall > 0 else 0.0,
        emulator=counts,
        memory=memory,
        categories={k: {f: v.get(f) for f in ("status", "count", "error")} for k, v in
                    (result.get("categories") or {}).items()},
    )
