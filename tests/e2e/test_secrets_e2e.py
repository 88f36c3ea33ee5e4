"""The secret scan: after an export and a real delete, no credential is anywhere the run left data.

Scanned: every blob of every container in the run's own Azurite (bytes, metadata, properties), devhost's and
the emulator's logs, devhost's task hub files, every orchestration's input/output/custom status/history, and
every status payload returned while polling. Searched for: the training key, the storage account key, the
function key, and SAS signatures. The one place a signature belongs is `result.manifestUrl` of a completed
export's status (DESIGN.md §3); that field is taken out before the scan, and the test checks it was the only
one. Keys never appear in logs, blobs, history, or status output (DESIGN.md §3).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from azure.storage.blob import BlobServiceClient

from localrun.azurite import ACCOUNT_KEY, Azurite
from tests.e2e.helpers import TRAINING_KEY, all_histories
from tests.e2e.security import STATE_ROOT, SecurityStack, security_stack

pytestmark = [pytest.mark.e2e]

# A SAS signature's value (base64 of an HMAC-SHA256, maybe URL-encoded), in a query string or as a JSON member.
# azure-core's HttpLoggingPolicy logs query values as "REDACTED": that placeholder is not a signature.
SIGNATURE = re.compile(rb'(?i)(?<![a-z0-9])(sig(=|%3d)|"sig"\s*:\s*")(?!REDACTED)[a-z0-9%+/=_-]{16,}')


@pytest.fixture(scope="module")
def own_azurite() -> Iterator[Azurite]:
    """A fresh Azurite, so every blob in it comes from this test's run (and the scan covers all of them)."""
    base = STATE_ROOT / f"security-secrets-azurite-{time.monotonic_ns()}"
    with Azurite(base / "data", log_path=base / "azurite.log", in_memory=True) as server:
        yield server
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(own_azurite: Azurite) -> Iterator[SecurityStack]:
    with security_stack("secrets", own_azurite, training_key=TRAINING_KEY, container="sec-secrets") as running:
        yield running


def needles(stack: SecurityStack) -> dict[str, list[bytes]]:
    """Each secret as it could be written: raw, URL-encoded, and a distinctive fragment of it."""
    secrets = {"training key": TRAINING_KEY, "storage account key": ACCOUNT_KEY, "function key": stack.function_key}
    found: dict[str, list[bytes]] = {}
    for name, value in secrets.items():
        forms = {value, quote(value, safe=""), value[:16], value[-12:]}
        found[name] = sorted(form.encode() for form in forms)
    return found


def leaks_in(data: bytes, stack: SecurityStack) -> list[str]:
    found = [name for name, forms in needles(stack).items() if any(form in data for form in forms)]
    if SIGNATURE.search(data):
        found.append("SAS signature")
    return found


def run_and_collect(stack: SecurityStack, body: dict[str, Any], payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Submit, then poll the status until it finishes, keeping every payload the API returned."""
    host = stack.devhost
    response = host.post("api/requests", json=body)
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = host.get(f"api/requests/{body['requestId']}")
        assert status.status_code == 200, status.text
        payloads.append(status.json())
        if payloads[-1]["status"] in ("Completed", "Failed", "Terminated"):
            return payloads[-1]
        time.sleep(0.2)
    raise TimeoutError(body["requestId"])


def without_manifest_links(payloads: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The payloads with `result.manifestUrl` of completed exports removed; how many links were removed."""
    kept, removed = [], 0
    for payload in payloads:
        payload = copy.deepcopy(payload)
        result = payload.get("result")
        if payload["status"] == "Completed" and payload["operation"] == "export" and result.get("manifestUrl"):
            assert SIGNATURE.search(result.pop("manifestUrl").encode())
            removed += 1
        kept.append(payload)
    return kept, removed


def blob_texts(azurite: Azurite) -> Iterator[tuple[str, bytes, bytes]]:
    """(container/blob, content, properties as JSON text) for every blob in every container."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    for container in service.list_containers():
        client = service.get_container_client(container.name)
        for blob in client.list_blobs(include=["metadata", "tags", "copy"]):
            data = client.download_blob(blob.name).readall()
            yield f"{container.name}/{blob.name}", data, json.dumps(dict(blob), default=str).encode()


@dataclass
class Traces:
    """Everything the run left behind: place -> bytes; blob properties (the storage service's copy records) apart."""

    places: dict[str, bytes]
    blob_properties: dict[str, bytes]


@pytest.fixture(scope="module")
def traces(stack: SecurityStack, own_azurite: Azurite) -> Traces:
    """An export of everything, then a real delete of everything (demo data), with every status payload kept."""
    payloads: list[dict[str, Any]] = []
    export = run_and_collect(stack, {"operation": "export", "requestId": "sec-export"}, payloads)
    assert export["status"] == "Completed" and export["result"]["manifestUrl"], export
    delete = {"operation": "delete", "requestId": "sec-delete", "confirm": "default"}
    deleted = run_and_collect(stack, delete, payloads)
    assert deleted["status"] == "Completed" and deleted["result"]["receipt"], deleted
    assert stack.emulator.state()["projects"] == []  # it really deleted: the scan covers a real delete's traces

    histories = all_histories(stack.devhost)
    stack.devhost.stop()  # flush and close its log and task hub files before reading them
    stack.emulator.stop()
    scanned_payloads, links = without_manifest_links(payloads)
    assert links >= 1  # the excluded field was there, and was the only place a signature was allowed

    places: dict[str, bytes] = {
        "devhost log": stack.devhost.log_path.read_bytes(),
        "emulator log": stack.emulator.log_path.read_bytes(),
        "orchestration histories": histories.encode(),
        "status payloads": json.dumps(scanned_payloads).encode(),
    }
    for path in sorted((stack.state_dir / "devhost").rglob("*")):
        if path.is_file():
            places[f"devhost state {path.name}"] = path.read_bytes()
    properties: dict[str, bytes] = {}
    for name, data, props in blob_texts(own_azurite):
        places[f"blob {name}"] = data + b"\n" + json.dumps(dict(json.loads(props).get("metadata") or {})).encode()
        properties[name] = props
    assert any("/images/" in name for name in places)  # the export's image copies are scanned too
    assert any(name.startswith("blob sec-secrets/receipts/") for name in places)
    return Traces(places, properties)


def test_no_secret_in_blobs_logs_history_or_status(
    stack: SecurityStack, traces: Traces, capsys: pytest.CaptureFixture[str]
) -> None:
    """Blob contents and metadata, logs, task hub files, histories, status payloads: no key, no signature."""
    assert len(traces.places) > 20
    leaks = {where: found for where, data in traces.places.items() if (found := leaks_in(data, stack))}
    assert leaks == {}, f"secrets found: {json.dumps(leaks, indent=1)}"
    blobs = sum(name.startswith("blob ") for name in traces.places)
    size = sum(len(data) for data in traces.places.values())
    with capsys.disabled():
        print(f"\nsecret scan: {len(traces.places)} places ({blobs} blobs, logs, task hub, histories, status "
              f"payloads; {size / 1e6:.1f} MB): no training key, storage key, function key or SAS signature")


def test_no_secret_in_blob_properties(stack: SecurityStack, traces: Traces) -> None:
    """What the storage service records about each blob (copy source, etc.) holds no key and no signature."""
    leaks = {where: found for where, data in traces.blob_properties.items() if (found := leaks_in(data, stack))}
    assert leaks == {}, f"secrets found in {len(leaks)} blobs' properties, e.g. {sorted(leaks)[:3]}"


def test_the_scan_finds_what_it_looks_for(stack: SecurityStack, traces: Traces) -> None:
    """The scanner's own control: each secret, in each form it looks for, and a signature are found."""
    for name, forms in needles(stack).items():
        for form in forms:
            assert leaks_in(b"x " + form + b" x", stack) == [name], (name, form)
    fake_signature = b"zaNvsMNYOL99lUA1X9CvI72OKEdRqz3L" + b"Li0DOh8vDs8%3D"  # built here: no SAS-like literal in git
    signed = b"https://a.blob.core.windows.net/c/b?sv=2026-10-06&sr=b&sig=" + fake_signature
    assert leaks_in(signed, stack) == ["SAS signature"]
    assert leaks_in(b'{"sig": "zaNvsMNYOL99lUA1X9CvI72OKEdRqz3L"}', stack) == ["SAS signature"]
    assert leaks_in(b"?st=REDACTED&sig=REDACTED", stack) == []  # azure-core's redacted request log lines
