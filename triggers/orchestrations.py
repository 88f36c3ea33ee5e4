"""The Durable client behind the plain `dsr.intake.Orchestrations` port: statuses become plain dicts.

Instance queries come in pages (100 by default, then an `x-ms-continuation-token` header: the Durable
extension's HttpApiHandler), and the SDK's `get_status_by` reads only the first page
(azure-functions-durable-python issue #580), so `list_instances` asks the host's management API itself
and follows the continuation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from azure.durable_functions.models.RpcManagementOptions import RpcManagementOptions

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


CONTINUATION_HEADER = "x-ms-continuation-token"
QUERY_TIMEOUT = aiohttp.ClientTimeout(total=120)


async def list_instances(
    client: df.DurableOrchestrationClient,
    *,
    statuses: Sequence[str] = (),
    prefix: str | None = None,
    created_to: datetime | None = None,
) -> AsyncIterator[DurableOrchestrationStatus]:
    """Every instance matching the filters, page after page along the continuation token."""
    base_url = client._orchestration_bindings.rpc_base_url  # the SDK keeps the host's management URL private
    options = RpcManagementOptions(runtime_status=[OrchestrationRuntimeStatus(s) for s in statuses] or None,
                                   instance_id_prefix=prefix, created_time_to=created_to)
    url = options.to_url(base_url)
    token: str | None = None
    async with aiohttp.ClientSession(timeout=QUERY_TIMEOUT) as session:
        while True:
            headers = {CONTINUATION_HEADER: token} if token else {}
            async with session.get(url, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"listing instances failed with HTTP {response.status}")
                page = await response.json(content_type=None)
                token = response.headers.get(CONTINUATION_HEADER) or None
                token = None if token in ("null", '""') else token  # the last page's token is null
            for item in page or []:
                yield DurableOrchestrationStatus.from_json(item)
            if not token:
                return


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
