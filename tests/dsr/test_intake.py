"""The API's decisions in plain code: start once per requestId, 409 on a different body, lookup, cancel."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dsr.intake import (
    CANCEL_REASON,
    Decision,
    Reply,
    cancel,
    decide,
    lookup,
    orchestration_input,
    start_once,
    submit,
)
from dsr.problems import CONTENT_TYPE
from dsr.request import DataRequest, parse_request
from dsr.settings import ResourceConfig, Settings

SETTINGS = Settings(resources={"default": ResourceConfig(alias="default", endpoint="http://127.0.0.1:1")})
NOW = datetime(2026, 11, 22, 15, 0, 0, tzinfo=UTC)
EXPORT = {"operation": "export", "requestId": "case-1", "categories": ["tags"]}


class FakeOrchestrations:
    """Instances in a dict; records starts and terminations."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.started: list[tuple[str, Any]] = []
        self.terminated: list[tuple[str, str]] = []
        self.fail_start_with: dict[str, Any] | None = None  # a racing start: the instance appears, start fails

    async def status(self, instance_id: str) -> dict[str, Any] | None:
        return self.instances.get(instance_id)

    async def start(self, instance_id: str, orchestration_input: Any) -> None:
        if self.fail_start_with is not None:
            self.instances[instance_id] = self.fail_start_with
            raise RuntimeError("instance already exists")
        self.started.append((instance_id, orchestration_input))
        self.instances[instance_id] = {
            "instanceId": instance_id,
            "runtimeStatus": "Pending",
            "createdTime": "2026-11-22T15:00:00Z",
            "input": json.loads(json.dumps(orchestration_input)),
        }

    async def terminate(self, instance_id: str, reason: str) -> None:
        self.terminated.append((instance_id, reason))


def request(body: dict[str, Any]) -> DataRequest:
    return parse_request(json.dumps(body).encode(), settings=SETTINGS, new_id=lambda: "new-id")


STATUS_BASE = "https://dsr.example.net/api/requests"


def status_uri(request_id: str) -> str:
    return f"{STATUS_BASE}/{request_id}"


def accepted(request_id: str) -> Reply:
    """The 202 of DESIGN.md §3: `{"id", "statusUri"}` and Location, both GET /api/requests/{id}."""
    uri = status_uri(request_id)
    return Reply(202, body={"id": request_id, "statusUri": uri}, headers={"Location": uri})


class FakeCancellations:
    """Recorded cancellation markers."""

    def __init__(self) -> None:
        self.marked: list[str] = []

    def request(self, request_id: str) -> bool:
        first = request_id not in self.marked
        self.marked.append(request_id)
        return first


def run_submit(orchestrations: FakeOrchestrations, body: Any) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return asyncio.run(submit(raw, orchestrations=orchestrations, settings=SETTINGS, now=NOW, new_id=lambda: "new-id",
                              status_uri=status_uri))


def test_orchestration_input_shape() -> None:
    req = request(EXPORT)
    expected = {"request": req.to_dict(), "receivedAt": "2026-11-22T15:00:00.000Z"}
    assert orchestration_input(req, now=NOW) == expected


def test_decide() -> None:
    req = request(EXPORT)
    stored = {"input": {"request": req.to_dict(), "receivedAt": "x"}}
    assert decide(req, None) is Decision.START
    assert decide(req, stored) is Decision.EXISTING
    assert decide(req, {"input": json.dumps(stored["input"])}) is Decision.EXISTING  # JSON text, as some hosts give
    assert decide(request({**EXPORT, "categories": ["images"]}), stored) is Decision.CONFLICT
    assert decide(req, {"input": None}) is Decision.CONFLICT
    assert decide(req, {"input": {"request": {"operation": "bogus"}}}) is Decision.CONFLICT


def test_submit_starts_with_request_id_as_instance_id() -> None:
    orchestrations = FakeOrchestrations()
    reply = run_submit(orchestrations, EXPORT)
    assert reply == accepted("case-1")
    assert "code=" not in json.dumps(reply.body) and "webhooks" not in json.dumps(reply.body)
    ((instance_id, started_input),) = orchestrations.started
    assert instance_id == "case-1"
    assert started_input == {"request": request(EXPORT).to_dict(), "receivedAt": "2026-11-22T15:00:00.000Z"}


def test_submit_generates_an_id_when_absent() -> None:
    orchestrations = FakeOrchestrations()
    assert run_submit(orchestrations, {"operation": "export"}) == accepted("new-id")


def test_same_request_again_does_not_run_twice() -> None:
    orchestrations = FakeOrchestrations()
    run_submit(orchestrations, EXPORT)
    reordered = {"categories": ["tags"], "requestId": "case-1", "operation": "export", "resource": "default"}
    assert run_submit(orchestrations, reordered) == accepted("case-1")
    assert len(orchestrations.started) == 1


def test_same_id_different_body_is_409() -> None:
    orchestrations = FakeOrchestrations()
    run_submit(orchestrations, EXPORT)
    reply = run_submit(orchestrations, {**EXPORT, "categories": ["images"]})
    assert reply.status == 409 and reply.content_type == CONTENT_TYPE
    assert reply.body is not None and reply.body["errors"][0]["field"] == "/requestId"
    assert len(orchestrations.started) == 1


def test_racing_identical_start_answers_with_the_existing_instance() -> None:
    orchestrations = FakeOrchestrations()
    orchestrations.fail_start_with = {"input": {"request": request(EXPORT).to_dict()}, "runtimeStatus": "Running"}
    assert run_submit(orchestrations, EXPORT) == accepted("case-1")


def test_start_failure_without_an_instance_is_raised() -> None:
    class Broken(FakeOrchestrations):
        async def start(self, instance_id: str, orchestration_input: Any) -> None:
            raise RuntimeError("task hub down")

    with pytest.raises(RuntimeError, match="task hub down"):
        run_submit(Broken(), EXPORT)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**EXPORT, "dryRun": True}, 400, "/dryRun"),
        ({"operation": "delete", "dryrun": True}, 400, "/dryrun"),
        (b"not json", 400, ""),
        (b'{"operation": "export", "x": "' + b"a" * 70_000 + b'"}', 413, ""),
    ],
)
def test_bad_input_is_a_problem_and_starts_nothing(body: Any, status: int, field: str) -> None:
    orchestrations = FakeOrchestrations()
    reply = run_submit(orchestrations, body)
    assert reply.status == status and reply.content_type == CONTENT_TYPE
    assert reply.body is not None and reply.body["status"] == status
    assert field in [e["field"] for e in reply.body["errors"]]
    assert orchestrations.started == [] and orchestrations.instances == {}


def test_lookup_unknown_and_invalid_ids_are_404() -> None:
    orchestrations = FakeOrchestrations()
    for request_id in ("nope", "../etc", "x?showHistory=true"):
        reply = asyncio.run(lookup(request_id, orchestrations=orchestrations, settings=SETTINGS, now=NOW))
        assert reply.status == 404 and reply.content_type == CONTENT_TYPE


def test_lookup_builds_the_status_answer() -> None:
    orchestrations = FakeOrchestrations()
    run_submit(orchestrations, EXPORT)
    reply = asyncio.run(lookup("case-1", orchestrations=orchestrations, settings=SETTINGS, now=NOW))
    assert reply.status == 200 and reply.body is not None
    assert reply.body["requestId"] == "case-1" and reply.body["status"] == "Pending"
    assert reply.body["dueDate"] == "2026-12-22T15:00:00Z"


def test_lookup_without_signable_storage_still_answers() -> None:
    orchestrations = FakeOrchestrations()
    run_submit(orchestrations, EXPORT)
    output = {"status": "completed", "categories": {}, "manifestPath": "case-1/manifest.json"}
    orchestrations.instances["case-1"].update(runtimeStatus="Completed", output=output)
    reply = asyncio.run(lookup("case-1", orchestrations=orchestrations, settings=SETTINGS, now=NOW))
    assert reply.status == 200 and reply.body is not None
    assert reply.body["result"]["manifestUrl"] is None  # no export storage configured: no link, no failure


@pytest.mark.parametrize("runtime_status", ["Pending", "Running", "Suspended", "ContinuedAsNew"])
def test_cancel_terminates_an_unfinished_request(runtime_status: str) -> None:
    orchestrations, cancellations = FakeOrchestrations(), FakeCancellations()
    orchestrations.instances["case-1"] = {"runtimeStatus": runtime_status}
    reply = asyncio.run(cancel("case-1", orchestrations=orchestrations, cancellations=cancellations))
    assert reply.status == 202 and orchestrations.terminated == [("case-1", CANCEL_REASON)]
    assert cancellations.marked == []  # not a delete: nothing to stop but the orchestration


@pytest.mark.parametrize("runtime_status", ["Completed", "Failed", "Terminated", "Canceled"])
def test_cancel_a_finished_request_is_409(runtime_status: str) -> None:
    orchestrations = FakeOrchestrations()
    orchestrations.instances["case-1"] = {"runtimeStatus": runtime_status}
    reply = asyncio.run(cancel("case-1", orchestrations=orchestrations, cancellations=FakeCancellations()))
    assert reply.status == 409 and reply.content_type == CONTENT_TYPE
    assert orchestrations.terminated == []


def test_cancel_unknown_is_404() -> None:
    orchestrations = FakeOrchestrations()
    assert asyncio.run(cancel("nope", orchestrations=orchestrations, cancellations=FakeCancellations())).status == 404
    assert asyncio.run(cancel("a/b", orchestrations=orchestrations, cancellations=FakeCancellations())).status == 404
    assert orchestrations.terminated == []


def test_cancelling_a_delete_records_the_marker_instead_of_terminating() -> None:
    """On Azure a terminate leaves the scheduled deletes running: the marker stops them, the run ends itself."""
    orchestrations, cancellations = FakeOrchestrations(), FakeCancellations()
    run_submit(orchestrations, {"operation": "delete", "requestId": "del-1", "confirm": "default"})
    first = asyncio.run(cancel("del-1", orchestrations=orchestrations, cancellations=cancellations))
    assert (first.status, first.body) == (202, {"requestId": "del-1", "status": "Cancelling"})
    assert cancellations.marked == ["del-1"] and orchestrations.terminated == []
    again = asyncio.run(cancel("del-1", orchestrations=orchestrations, cancellations=cancellations))
    assert again.body == {"requestId": "del-1", "status": "Terminating"}  # a second cancel forces it
    assert orchestrations.terminated == [("del-1", CANCEL_REASON)]


def test_cancelling_a_dry_run_terminates_it() -> None:
    orchestrations, cancellations = FakeOrchestrations(), FakeCancellations()
    run_submit(orchestrations, {"operation": "delete", "requestId": "dry-1", "dryRun": True})
    reply = asyncio.run(cancel("dry-1", orchestrations=orchestrations, cancellations=cancellations))
    assert reply.body == {"requestId": "dry-1", "status": "Terminating"} and cancellations.marked == []


def test_lookup_reads_a_deletes_receipt_from_its_blob() -> None:
    orchestrations = FakeOrchestrations()
    run_submit(orchestrations, {"operation": "delete", "requestId": "del-2", "confirm": "default"})
    output = {"status": "completed", "categories": {}, "receiptPath": "receipts/del-2.json"}
    orchestrations.instances["del-2"].update(runtimeStatus="Completed", output=output)
    stored = {"requestId": "del-2", "results": {}, "signature": {"alg": "HMAC-SHA256", "keyId": "k", "value": "v"}}
    read: list[str] = []

    def read_receipt(request_id: str) -> dict[str, Any]:
        read.append(request_id)
        return stored

    reply = asyncio.run(lookup("del-2", orchestrations=orchestrations, settings=SETTINGS, now=NOW,
                               read_receipt=read_receipt))
    assert reply.body is not None and read == ["del-2"]
    assert reply.body["result"]["receipt"]["requestId"] == "del-2"
    assert reply.body["result"]["receiptPath"] == "receipts/del-2.json"


def test_start_once_reports_what_happened() -> None:
    orchestrations = FakeOrchestrations()
    req = request(EXPORT)
    assert asyncio.run(start_once(req, orchestrations=orchestrations, now=NOW)) is Decision.START
    assert asyncio.run(start_once(req, orchestrations=orchestrations, now=NOW)) is Decision.EXISTING
    other = request({**EXPORT, "categories": ["images"]})
    assert asyncio.run(start_once(other, orchestrations=orchestrations, now=NOW)) is Decision.CONFLICT
    assert len(orchestrations.started) == 1
