"""The housekeeping timer through its decorated function: settings in, Azurite container, fake Durable client."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.PurgeHistoryResult import PurgeHistoryResult
from azure.functions.timer import TimerRequest
from azure.storage.blob import BlobServiceClient

from localrun.azurite import Azurite
from tests.triggers.bindings import user_function
from triggers import housekeeping


class FakeDurableClient:
    """Two finished instances behind the paged listing; records the listing query and each purge."""

    def __init__(self) -> None:
        self.queries: list[dict[str, Any]] = []
        self.purged: list[str] = []

    async def list_instances(self, **query: Any) -> AsyncIterator[DurableOrchestrationStatus]:
        """Stands in for triggers.orchestrations.list_instances (the paged management API)."""
        self.queries.append(query)
        for instance_id in ("old-1", "old-2"):
            yield DurableOrchestrationStatus.from_json({"instanceId": instance_id, "runtimeStatus": "Completed"})

    async def purge_instance_history(self, instance_id: str) -> PurgeHistoryResult:
        self.purged.append(instance_id)
        return PurgeHistoryResult(instancesDeleted=1)


def test_timer_binding_uses_the_schedule_setting_or_daily_0230() -> None:
    bindings = json.loads(housekeeping.housekeeping.build().get_function_json())["bindings"]
    timer = next(b for b in bindings if b["type"] == "timerTrigger")
    assert timer["name"] == "timer" and timer["schedule"] in ("0 30 2 * * *", "%HOUSEKEEPING_SCHEDULE%")


def test_the_timer_expires_exports_and_purges_finished_history(azurite: Azurite,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"hk-trigger-{uuid.uuid4().hex[:8]}"
    container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(name)
    container.create_container()
    for blob in ("r-1/manifest.json", ".work/r-1/x.json", "receipts/r-1.json"):
        container.upload_blob(blob, b"{}")
    monkeypatch.setenv("EXPORT_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("EXPORT_CONTAINER", name)
    monkeypatch.setenv("EXPORT_RETENTION_DAYS", "0")
    monkeypatch.setenv("HISTORY_RETENTION_DAYS", "90")
    client = FakeDurableClient()
    monkeypatch.setattr(housekeeping, "list_instances", lambda durable, **query: durable.list_instances(**query))
    before = datetime.now(UTC)
    timer = TimerRequest(past_due=False, schedule_status={}, schedule={})
    asyncio.run(user_function(housekeeping.housekeeping)(timer=timer, client=client))

    assert [b.name for b in container.list_blobs()] == ["receipts/r-1.json"]
    (query,) = client.queries
    assert list(query["statuses"]) == ["Completed", "Failed", "Terminated"]
    assert before - timedelta(days=90) <= query["created_to"] <= datetime.now(UTC) - timedelta(days=90)
    assert client.purged == ["old-1", "old-2"]
    container.delete_container()
