"""Storage clients of the app log requests on their own quiet logger, not azure-core's (the Training API's)."""

from __future__ import annotations

import logging

from azure.core.pipeline.policies import HttpLoggingPolicy

from dsr import storage
from dsr.settings import Settings


def _http_loggers(client: object) -> list[str]:
    policies = client._pipeline._impl_policies  # type: ignore[attr-defined]
    return [p._policy.logger.name for p in policies if isinstance(getattr(p, "_policy", None), HttpLoggingPolicy)]


def test_export_and_source_clients_log_on_the_storage_logger() -> None:
    settings = Settings(resources={}, export_connection_string="UseDevelopmentStorage=true", export_container="c")
    service = storage.blob_service(settings)
    source = storage.source_blob("http://127.0.0.1:10000/devstoreaccount1/c/b.png?sv=2024&sig=abc")
    assert _http_loggers(service) == _http_loggers(source) == [storage.STORAGE_HTTP_LOGGER]
    assert logging.getLogger(storage.STORAGE_HTTP_LOGGER).getEffectiveLevel() == logging.WARNING
