"""The account category of an export, through ARM: the account's properties, its keys as fingerprints only."""

from __future__ import annotations

import hashlib
from typing import Any

from dsr.arm import AccountRef, ClientFactory, ManagementClient, management_client
from dsr.envelope import CategoryResult, complete, skipped
from dsr.layout import ACCOUNT
from dsr.settings import ResourceConfig
from dsr.sink import ExportSink


def key_fingerprint(key: str) -> str:
    """A short, non-reversible fingerprint that identifies a key without revealing it."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def account_document(client: ManagementClient, ref: AccountRef) -> dict[str, Any]:
    """The account's ARM properties plus key fingerprints; the keys themselves are never included."""
    account = client.accounts.get(ref.resource_group, ref.name)
    keys = client.accounts.list_keys(ref.resource_group, ref.name)
    doc = account.as_dict() if hasattr(account, "as_dict") else dict(account)
    doc.pop("keys", None)
    doc["keyFingerprints"] = {
        name: key_fingerprint(value) for name in ("key1", "key2") if (value := getattr(keys, name, None))
    }
    return doc


def export_account(
    sink: ExportSink, resource: ResourceConfig, *, client_factory: ClientFactory | None = None
) -> CategoryResult:
    """account/account.json from ARM when the resource has an ARM id; otherwise skipped, saying why."""
    if not resource.arm_id:
        return skipped(
            f"resource {resource.alias!r} has no ARM resource id configured; its account data "
            "(keys, pricing tier) is managed in the Azure portal",
            code="NoArmResourceId",
        )
    ref = AccountRef.parse(resource.arm_id)
    doc = account_document((client_factory or management_client)(ref), ref)
    sink.write_json(ACCOUNT, doc)
    return complete(1)
