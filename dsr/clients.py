"""One Training API client per configured resource and process, paced by the resource's one rate budget."""

from __future__ import annotations

import threading

from customvision import TrainingClient
from dsr.ratebudget import pacer_for
from dsr.settings import ResourceConfig, Settings

_lock = threading.Lock()
_clients: dict[tuple[str, str, str | None], TrainingClient] = {}


def training_client(resource: ResourceConfig, settings: Settings | None = None) -> TrainingClient:
    """The client for `resource` (Training-Key when configured, else Entra ID), built once per process;
    `settings` (default: the environment's) say where the shared rate budget lives."""
    key = (resource.alias, resource.endpoint, resource.training_key)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _new_client(resource, settings or Settings.from_env())
            _clients[key] = client
        return client


def _new_client(resource: ResourceConfig, settings: Settings) -> TrainingClient:
    if resource.training_key:
        from azure.core.credentials import AzureKeyCredential

        credential: object = AzureKeyCredential(resource.training_key)
    else:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    # `timeout` bounds a whole call including retries, so an endpoint that never answers fails the category
    # instead of hanging the run; each attempt may read for at most a fifth of it.
    return TrainingClient(
        resource.endpoint,
        credential,
        rate_limiter=pacer_for(resource, settings),  # type: ignore[arg-type]  # any customvision.Pacer
        timeout=resource.timeout,
        read_timeout=min(60.0, resource.timeout / 5),
        connection_timeout=min(10.0, resource.timeout / 5),
    )
