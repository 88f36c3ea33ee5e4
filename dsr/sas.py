"""Short-lived, read-only SAS links to one export blob (the manifest), for the status API."""

from __future__ import annotations

from datetime import datetime, timedelta

from azure.storage.blob import BlobSasPermissions, generate_blob_sas

from dsr.settings import Settings, SettingsError
from dsr.storage import blob_service
from dsr.times import as_utc

CLOCK_SKEW = timedelta(minutes=5)  # the link is valid from a little before `now`, for clients with slow clocks


def manifest_sas_url(settings: Settings, blob_path: str, *, now: datetime, hours: float) -> str:
    """A URL that can read `blob_path` in the export container, and nothing else, until now + hours.

    Signed with the account key when the connection string has one (Azurite too), else with a
    user-delegation key obtained through the app's Entra ID identity (EXPORT_STORAGE_ACCOUNT_URL).
    """
    service = blob_service(settings)
    blob = service.get_blob_client(settings.export_container, blob_path)
    start, expiry = as_utc(now) - CLOCK_SKEW, as_utc(now) + timedelta(hours=hours)
    signing = {
        "account_name": blob.account_name,
        "container_name": blob.container_name,
        "blob_name": blob.blob_name,
        "permission": BlobSasPermissions(read=True),
        "start": start,
        "expiry": expiry,
        "protocol": "https" if blob.url.startswith("https:") else None,
    }
    account_key = getattr(service.credential, "account_key", None)
    if account_key:
        token = generate_blob_sas(account_key=account_key, **signing)
    elif hasattr(service.credential, "get_token"):
        delegation_key = service.get_user_delegation_key(key_start_time=start, key_expiry_time=expiry)
        token = generate_blob_sas(user_delegation_key=delegation_key, **signing)
    else:
        raise SettingsError(
            "cannot sign links: EXPORT_STORAGE_CONNECTION_STRING needs an AccountKey, "
            "or use EXPORT_STORAGE_ACCOUNT_URL with an identity"
        )
    return f"{blob.url}?{token}"

