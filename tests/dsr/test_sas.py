"""Manifest links against a real Azurite: read the one blob, nothing else, and only until expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.storage.blob import BlobServiceClient, UserDelegationKey

from dsr.sas import manifest_sas_url
from dsr.settings import Settings, SettingsError

CONTAINER = "sas-tests"


@pytest.fixture(scope="module")
def export_settings(azurite: Any) -> Settings:
    settings = Settings(resources={}, export_connection_string=azurite.connection_string, export_container=CONTAINER)
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.get_container_client(CONTAINER)
    if not container.exists():
        container.create_container()
    container.upload_blob("case-1/manifest.json", b'{"requestId": "case-1"}', overwrite=True)
    container.upload_blob("case-1/images.jsonl", b"{}\n", overwrite=True)
    container.upload_blob("case-2/manifest.json", b'{"requestId": "case-2"}', overwrite=True)
    return settings


def url_for(settings: Settings, *, now: datetime | None = None, hours: float = 1) -> str:
    return manifest_sas_url(settings, "case-1/manifest.json", now=now or datetime.now(UTC), hours=hours)


def test_link_reads_the_manifest(export_settings: Settings) -> None:
    response = requests.get(url_for(export_settings), timeout=10)
    assert response.status_code == 200
    assert response.json() == {"requestId": "case-1"}


def test_link_is_read_only_and_expires_as_asked(export_settings: Settings) -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    query = parse_qs(urlsplit(url_for(export_settings, now=now, hours=24)).query)
    assert query["sp"] == ["r"] and query["sr"] == ["b"]
    assert query["se"] == ["2026-01-02T12:00:00Z"]


def test_link_cannot_write(export_settings: Settings) -> None:
    url = url_for(export_settings)
    put = requests.put(url, data=b"{}", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    assert put.status_code == 403
    assert requests.delete(url, timeout=10).status_code == 403
    assert requests.get(url, timeout=10).json() == {"requestId": "case-1"}


def test_link_cannot_read_a_sibling_or_another_request(export_settings: Settings) -> None:
    url = urlsplit(url_for(export_settings))
    for other in ("case-1/images.jsonl", "case-2/manifest.json"):
        path = url.path.replace("case-1/manifest.json", other)
        response = requests.get(url._replace(path=path).geturl(), timeout=10)
        assert response.status_code == 403, other
    listing = url._replace(path=url.path.rsplit("/", 2)[0], query=url.query + "&restype=container&comp=list")
    assert requests.get(listing.geturl(), timeout=10).status_code == 403


def test_expired_link_is_refused(export_settings: Settings) -> None:
    url = url_for(export_settings, now=datetime.now(UTC) - timedelta(hours=3), hours=1)
    assert requests.get(url, timeout=10).status_code == 403


def test_naive_now_is_taken_as_utc(export_settings: Settings) -> None:
    naive = datetime(2026, 1, 1, 12, 0)
    query = parse_qs(urlsplit(url_for(export_settings, now=naive, hours=1)).query)
    assert query["se"] == ["2026-01-01T13:00:00Z"]


def test_user_delegation_link_for_identity_based_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    key = UserDelegationKey()
    key.signed_oid, key.signed_tid = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
    key.signed_start, key.signed_expiry = "2026-01-01T11:55:00Z", "2026-01-02T12:00:00Z"
    key.signed_service, key.signed_version = "b", "2025-01-05"
    key.value = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="
    asked: list[tuple[datetime, datetime]] = []

    def fake_key(self: BlobServiceClient, key_start_time: datetime, key_expiry_time: datetime) -> UserDelegationKey:
        asked.append((key_start_time, key_expiry_time))
        return key

    monkeypatch.setattr(BlobServiceClient, "get_user_delegation_key", fake_key)
    settings = Settings(resources={}, export_account_url="https://acct.blob.core.windows.net", export_container="c")
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    url = urlsplit(manifest_sas_url(settings, "case-1/manifest.json", now=now, hours=24))
    query = parse_qs(url.query)
    assert url.netloc == "acct.blob.core.windows.net" and url.path == "/c/case-1/manifest.json"
    assert query["sp"] == ["r"] and query["sr"] == ["b"] and query["spr"] == ["https"]
    assert query["skoid"] == [key.signed_oid]
    assert asked == [(now - timedelta(minutes=5), now + timedelta(hours=24))]


def test_connection_string_without_key_cannot_sign() -> None:
    settings = Settings(
        resources={},
        export_connection_string="BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=1&sig=x",
    )
    with pytest.raises(SettingsError):
        manifest_sas_url(settings, "case-1/manifest.json", now=datetime.now(UTC), hours=1)
