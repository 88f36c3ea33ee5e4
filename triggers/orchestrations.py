"""The Durable client behind the plain `dsr.intake.Orchestrations` port: statuses become plain dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from dsr.intake import OrchestrationInput
from dsr.names import DATA_REQUEST_ORCHESTRATOR
from dsr.status import json_value


class DurableOrchestrations:
    """Adapts a `DurableOrchestrationClient` for dsr.intake; starts the data_request orchestrator."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def status(self, instance_id: str) -> dict[str, Any] | None:
        """The instance's status with its input, or None when no instance has this id."""
        status = await self._client.get_status(instance_id, show_input=True)
        return status_dict(status) if status else None

    async def start(self, instance_id: str, orchestration_input: OrchestrationInput) -> None:
        await self._client.start_new(DATA_REQUEST_ORCHESTRATOR, instance_id, orchestration_input)

    async def terminate(self, instance_id: str, reason: str) -> None:
        await self._client.terminate(instance_id, reason)


def status_dict(status: DurableOrchestrationStatus) -> dict[str, Any]:
    """The Durable status fields as plain JSON values (runtime status by name, times ISO-8601, JSON text parsed)."""
    runtime_status = status.runtime_status
    return {
        "instanceId": status.instance_id,
        "runtimeStatus": runtime_status.value if runtime_status is not None else None,
        "createdTime": _iso(status.created_time),
        "lastUpdatedTime": _iso(status.last_updated_time),
        "customStatus": json_value(status.custom_status),
        "output": json_value(status.output),
        "input": json_value(status.input_),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
