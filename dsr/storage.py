"""The export container client, built once per process from settings."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient

from dsr.settings import Settings, SettingsError

_lock = threading.Lock()
_services: dict[tuple[str | None, str | None], BlobServiceClient] = {}
_ensured: set[str] = set()  # URLs of the containers this process has seen exist


def blob_service(settings: Settings) -> BlobServiceClient:
    """One shared BlobServiceClient per export account (clients are thread-safe and pool connections)."""
    key = (settings.export_connection_string, settings.export_account_url)
    with _lock:
        service = _services.get(key)
        if service is None:
            service = _new_service(settings)
            _services[key] = service
        return service


def export_container(settings: Settings, *, create: bool = False) -> ContainerClient:
    """The container exports and receipts are written to; with `create`, made sure of once per process
    (every activity opens it: one storage round trip each was a cost, and a wait behind a busy account)."""
    container = blob_service(settings).get_container_client(settings.export_container)
    if create and container.url not in _ensured:
        if not container.exists():
            from azure.core.exceptions import ResourceExistsError

            with contextlib.suppress(ResourceExistsError):
                container.create_container()
        _ensured.add(container.url)
    return container


STORAGE_HTTP_LOGGER = "dsr.storage.http"  # the export account's request log, apart from the Training API's
POOL_SIZE = 64  # connections kept per storage host: activities run many copy threads on one shared client


_session: requests.Session | None = None
_session_lock = threading.Lock()  # apart from `_lock`: blob_service() builds clients while holding that one


def _pooled_session() -> requests.Session:
    """The process's one HTTP session for Blob storage (export account and image sources alike)."""
    global _session
    with _session_lock:
        if _session is None:
            # The per-request INFO lines (a million per large export) go to their own logger, kept at WARNING:
            # they are redacted, but their volume serializes threads on the logging lock.
            logging.getLogger(STORAGE_HTTP_LOGGER).setLevel(logging.WARNING)
            # requests' default pool of 10 made every extra copy thread open a new connection.
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _session = session
        return _session


def client_options() -> dict[str, Any]:
    """Options every storage client of the app shares: the pooled session, timeouts, the quiet request log."""
    return {
        "connection_timeout": 10,
        "read_timeout": 120,
        "transport": RequestsTransport(session=_pooled_session(), session_owner=False),
        # The storage SDK builds its own HttpLoggingPolicy from these kwargs (an `http_logging_policy`
        # passed in is ignored), so the logger goes in by name.
        "logger": logging.getLogger(STORAGE_HTTP_LOGGER),
    }


def source_blob(sas_url: str) -> BlobClient:
    """A client for one source blob named by a SAS URL (no credential of ours), on the pooled session.

    A listing's relative URI (`/i-<project hex>/...`) is no blob URL: it is read through GetArtifact."""
    if not sas_url.lower().startswith(("https://", "http://")):
        raise ValueError("not an absolute blob URL: a relative image URI is read through GetArtifact")
    return BlobClient.from_blob_url(sas_url, **client_options())


def _new_service(settings: Settings) -> BlobServiceClient:
    options = {**client_options(), "max_single_put_size": 8 * 1024 * 1024}
    if settings.export_connection_string:
        return BlobServiceClient.from_connection_string(settings.export_connection_string, **options)
    if settings.export_account_url:
        from azure.identity import DefaultAzureCredential

        return BlobServiceClient(settings.export_account_url, credential=DefaultAzureCredential(), **options)
    raise SettingsError("set EXPORT_STORAGE_CONNECTION_STRING or EXPORT_STORAGE_ACCOUNT_URL")
