"""The account category of a delete: ARM delete + purge only when enabled for the resource, else what to do.

`exported_models` has no delete API (DESIGN.md §1): the exported model files go with the account.
"""

from __future__ import annotations

from collections.abc import Callable

from azure.core.exceptions import ResourceNotFoundError

from dsr.arm import AccountRef, ClientFactory, ManagementClient, management_client
from dsr.categories import Category, CategoryStatus
from dsr.envelope import CategoryResult, complete, skipped
from dsr.settings import ResourceConfig

NOT_ENABLED = "AccountDeleteNotEnabled"
WITH_ACCOUNT = "RemovedWithAccount"


def delete_account_category(
    resource: ResourceConfig, *, client_factory: ClientFactory | None = None, check: Callable[[], None] = lambda: None,
) -> CategoryResult:
    """Delete and purge the account when `allow_account_delete` and `arm_id` are set; else skipped, saying how.
    `check()` runs before the delete and before the purge (dsr/cancellation.py's guard raises once cancelled)."""
    if not (resource.allow_account_delete and resource.arm_id):
        return skipped(
            f"account deletion is not enabled for resource {resource.alias!r}: the owner deletes the Custom Vision "
            "resource in the Azure portal (or enables allowAccountDelete with its armId), then purges it from "
            "'Manage deleted resources' so nothing stays recoverable",
            code=NOT_ENABLED,
        )
    ref = AccountRef.parse(resource.arm_id)
    client = (client_factory or management_client)(ref)
    try:
        location = client.accounts.get(ref.resource_group, ref.name).location
    except ResourceNotFoundError:  # deleted by an earlier attempt: purge what is still soft-deleted
        location = _deleted_location(client, ref)
        if location is not None:
            check()
            client.deleted_accounts.begin_purge(location, ref.resource_group, ref.name).result()
    else:
        delete_account(client, ref, location, check)
    return complete(1, details={"deleted": True, "purged": True})


def delete_account(client: ManagementClient, ref: AccountRef, location: str,
                   check: Callable[[], None] = lambda: None) -> None:
    """Delete the account, then purge the soft-deleted copy so nothing remains recoverable."""
    check()
    client.accounts.begin_delete(ref.resource_group, ref.name).result()
    check()
    client.deleted_accounts.begin_purge(location, ref.resource_group, ref.name).result()


def _deleted_location(client: ManagementClient, ref: AccountRef) -> str | None:
    """The region of the soft-deleted copy of the account, if there is one."""
    marker = f"/resourcegroups/{ref.resource_group}/deletedaccounts/{ref.name}".lower()
    for deleted in client.deleted_accounts.list():
        if (getattr(deleted, "id", "") or "").lower().endswith(marker):
            return str(deleted.location)
    return None


def exported_models_result(account: CategoryResult | None) -> CategoryResult:
    """Exported models are removed with the account: complete when it was deleted, else skipped saying so."""
    if account is not None and account["status"] == CategoryStatus.COMPLETE:
        return complete(0, details={"removedWith": str(Category.ACCOUNT)})
    return skipped(
        "exported models have no delete API; they are removed with the account (delete the Custom Vision "
        "resource to remove them)",
        code=WITH_ACCOUNT,
    )
