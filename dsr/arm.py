"""A Custom Vision account in the management plane (ARM): where it lives, and the client that reaches it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

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


ClientFactory = Callable[[AccountRef], ManagementClient]
