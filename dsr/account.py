"""The account category, through the management plane (ARM): properties with keys as fingerprints only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from dsr.envelope import CategoryResult, complete, skipped
from dsr.layout import ACCOUNT
from dsr.settings import ResourceConfig
from dsr.sink import ExportSink

ARM_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.CognitiveServices/accounts/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


class ArmIdError(ValueError):
    """The configured ARM id is not a Cognitive Services account id."""


@dataclass(frozen=True)
class AccountRef:
    """Where an account lives in ARM."""

    subscription_id: str
    resource_group: str
    name: str

    @classmethod
    def parse(cls, arm_id: str) -> AccountRef:
        match = ARM_ID.match(arm_id.strip())
        if not match:
            raise ArmIdError(
                "armId must look like /subscriptions/{id}/resourceGroups/{group}"
                "/providers/Microsoft.CognitiveServices/accounts/{name}"
            )
        return cls(match["subscription"], match["group"], match["name"])


class ManagementClient(Protocol):
    """The part of `CognitiveServicesManagementClient` this module uses (accounts, deleted_accounts)."""

    accounts: Any
    deleted_accounts: Any


def management_client(ref: AccountRef) -> ManagementClient:
    """The ARM client for the account's subscription, authenticated with DefaultAzureCredential."""
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    return CognitiveServicesManagementClient(DefaultAzureCredential(), ref.subscription_id)


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


def delete_account(client: ManagementClient, ref: AccountRef, location: str) -> None:
    """Delete the account, then purge the soft-deleted copy so nothing remains recoverable."""
    client.accounts.begin_delete(ref.resource_group, ref.name).result()
    client.deleted_accounts.begin_purge(location, ref.resource_group, ref.name).result()


ClientFactory = Callable[[AccountRef], ManagementClient]


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
