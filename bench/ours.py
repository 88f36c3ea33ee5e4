"""Our export and delete, as a user runs them: POST /api/requests on devhost, poll until done."""

from __future__ import annotations

import time
import uuid
from typing import Any, TypedDict

from bench.memory import MemoryPeak, MemorySampler
from localstack.stack import LocalStack

TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")
TIMED_OUT = "TimedOut"  # the bench gave up waiting (and cancelled the request)
POLL_SECONDS = 0.2  # the wall time is known to within one poll


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


def run_request(
    stack: LocalStack, body: dict[str, Any], *, timeout: float, measure_memory: bool = True
) -> tuple[dict[str, Any], float, EmulatorCounts, MemoryPeak | None]:
    """Submit `body`, poll to the end; (final status answer, wall seconds, emulator counts, memory peak)."""
    before = stack.emulator.stats()
    sampler = MemorySampler(stack.devhost.pid) if measure_memory else None
    if sampler:
        sampler.__enter__()
    try:
        started = time.perf_counter()
        response = stack.devhost.post("api/requests", json=body)
        if response.status_code != 202:
            raise RuntimeError(f"POST /api/requests answered {response.status_code}: {response.text[:500]}")
        request_id = response.json()["id"]
        try:
            answer = _wait(stack, request_id, timeout=timeout)
        except TimeoutError:  # recorded, not raised: the rest of the run still measures
            stack.devhost.delete(f"api/requests/{request_id}")
            answer = {"status": TIMED_OUT, "result": None}
        wall = time.perf_counter() - started
    finally:
        if sampler:
            sampler.__exit__(None, None, None)
    counts = stats_delta(before, stack.emulator.stats())
    return answer, wall, counts, sampler.peak() if sampler else None


def _wait(stack: LocalStack, request_id: str, *, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    answer: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = stack.devhost.get(f"api/requests/{request_id}")
        if response.status_code == 200:
            answer = response.json()
            if answer["status"] in TERMINAL:
                return answer
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"request {request_id} still {answer.get('status')!r} after {timeout:.0f}s")


def export(stack: LocalStack, categories: list[str], *, timeout: float) -> OursRun:
    request_id = f"bench-export-{uuid.uuid4().hex[:12]}"
    body = {"operation": "export", "resource": "default", "categories": categories, "requestId": request_id}
    answer, wall, counts, memory = run_request(stack, body, timeout=timeout)
    result = answer.get("result") or {}
    images = int(((result.get("categories") or {}).get("images") or {}).get("count") or 0)
    return _run(request_id, "export", answer, wall, images, counts, memory)


def delete(stack: LocalStack, categories: list[str], *, timeout: float) -> OursRun:
    request_id = f"bench-delete-{uuid.uuid4().hex[:12]}"
    body = {"operation": "delete", "resource": "default", "categories": categories, "requestId": request_id,
            "confirm": "default"}
    answer, wall, counts, memory = run_request(stack, body, timeout=timeout)
    result = answer.get("result") or {}
    images = int(((result.get("categories") or {}).get("images") or {}).get("count") or 0)
    return _run(request_id, "delete", answer, wall, images, counts, memory)


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
