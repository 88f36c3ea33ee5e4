"""One Training API client per configured resource and process, paced by the resource's one rate budget."""

from __future__ import annotations

import threading

from customvision import Pacer, TrainingClient, shared_rate_limiter
from dsr.ratebudget import SharedBudget, in_thread
from dsr.ratebudget_record import BlobSlotStore, record_container, record_name
from dsr.settings import ResourceConfig, Settings

_lock = threading.Lock()
_clients: dict[tuple[str, str, str | None], TrainingClient] = {}
_budgets_lock = threading.Lock()  # not `_lock`: a client is built holding that one, and asks for its pacer
_budgets: dict[tuple[str, str], SharedBudget] = {}


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


def pacer_for(resource: ResourceConfig, settings: Settings) -> Pacer:
    """The pacer every client of `resource` in this process uses: the shared budget (RATE_BUDGET_SCOPE=shared,
    the default, when an export account is configured), else this process's own bucket."""
    account = settings.export_connection_string or settings.export_account_url
    if settings.rate_budget_scope != "shared" or not account:
        return shared_rate_limiter(resource.endpoint, resource.tps)
    key = (resource.endpoint.rstrip("/").lower(), account)
    with _budgets_lock:
        budget = _budgets.get(key)
        if budget is None:
            name = record_name(resource.endpoint)
            store = BlobSlotStore(record_container(settings), name, endpoint=resource.endpoint)
            budget = _budgets[key] = SharedBudget(store, resource.tps, run_spare=in_thread)
        elif budget.tps != resource.tps:
            budget.rerate(resource.tps)  # the limit belongs to the resource: the last configuration wins
        return budget


def reset_budgets() -> None:
    """Forget this process's budgets (tests)."""
    with _budgets_lock:
        _budgets.clear()
