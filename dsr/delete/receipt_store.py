"""Where receipts live: `receipts/{requestId}.json` in the receipts container, written once (never overwritten)
next to a short HTML summary, `receipts/{requestId}.html`."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings

from dsr import signing
from dsr.delete.receipt_hmac import ReceiptKeyError
from dsr.delete.receipt_page import render_summary
from dsr.delete.receipt_signature import check, sign, signed_bytes
from dsr.layout import receipt_path
from dsr.settings import Settings


class ReceiptExistsError(RuntimeError):
    """A different receipt is already stored under this request id: receipts are never overwritten."""


_receipt_services: dict[str, BlobServiceClient] = {}


def receipts_container(settings: Settings) -> ContainerClient:
    """Where receipts go: RECEIPT_CONTAINER in RECEIPT_STORAGE_ACCOUNT_URL (Azure: a write-once container),
    each defaulting to the export account and container."""
    from dsr.storage import blob_service, client_options

    if settings.receipt_account_url:
        service = _receipt_services.get(settings.receipt_account_url)
        if service is None:
            from azure.identity import DefaultAzureCredential

            service = BlobServiceClient(settings.receipt_account_url, credential=DefaultAzureCredential(),
                                        **client_options())
            _receipt_services[settings.receipt_account_url] = service
    else:
        service = blob_service(settings)
    container = service.get_container_client(settings.receipts_container)
    if not settings.receipt_account_url and not container.exists():  # Azure: infra makes it, with its policy
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
    return container


def write_receipt(container: ContainerClient, receipt: Mapping[str, Any]) -> dict[str, Any]:
    """Store a signed receipt once (If-None-Match: *); `{"path", "size", "sha256"}`. Unsigned: refused.

    ReceiptExistsError when a receipt of this request id is already stored: a receipt is never replaced."""
    if not isinstance(receipt.get("signature"), dict):
        raise ReceiptKeyError("refusing to write an unsigned receipt")
    data = json.dumps(receipt, indent=2, sort_keys=True, ensure_ascii=True).encode("ascii") + b"\n"
    path = receipt_path(str(receipt["requestId"]))
    try:
        container.get_blob_client(path).upload_blob(
            data, overwrite=False, content_settings=ContentSettings(content_type="application/json")
        )
    except ResourceExistsError:
        raise ReceiptExistsError(f"{path} already exists; receipts are write-once") from None
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def issue_receipt(container: ContainerClient, receipt: Mapping[str, Any], signer: signing.Signer) -> dict[str, Any]:
    """Sign and store the receipt and its HTML summary, once; returns the stored signed receipt.

    A retry after an earlier attempt stored this same receipt (same signed content) returns that one;
    a different receipt under the same request id raises ReceiptExistsError and changes nothing."""
    signed = sign(receipt, signer)
    keys = signing.key_set(signing.jwks(signer))
    valid, reason = check(signed, keys=keys)
    if not valid:  # never store what our own published keys would not accept
        raise signing.SigningError(f"the new receipt does not verify with the published keys: {reason}")
    try:
        write_receipt(container, signed)
    except ReceiptExistsError:
        stored = read_receipt(container, str(receipt["requestId"]))
        if stored is None or signed_bytes(stored) != signed_bytes(signed) or not check(stored, keys=keys)[0]:
            raise
        signed = stored
    html = render_summary(signed, valid=True, reason=f"checked when issued: {reason}",
                          keys_source="GET /api/keys of the service that issued it")
    with contextlib.suppress(ResourceExistsError):  # else written by an earlier attempt, from the same receipt
        container.get_blob_client(receipt_path(str(receipt["requestId"]), ".html")).upload_blob(
            html.encode("utf-8"), overwrite=False,
            content_settings=ContentSettings(content_type="text/html; charset=utf-8"),
        )
    return signed


def read_receipt(container: ContainerClient, request_id: str) -> dict[str, Any] | None:
    """The stored receipt of a request, or None."""
    try:
        return json.loads(container.get_blob_client(receipt_path(request_id)).download_blob().readall())
    except ResourceNotFoundError:
        return None
