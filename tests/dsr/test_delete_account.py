"""Account deletion through the real ARM management SDK, answered by a scripted transport (no ARM runs here)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from dsr.arm import AccountRef
from dsr.cancellation import DeleteCancelled
from dsr.delete.account import delete_account_category, exported_models_result
from dsr.envelope import is_permanent
from dsr.settings import ResourceConfig
from tests.customvision.fakes import ScriptedTransport, path

SUB, GROUP, NAME, LOCATION = "sub-1", "rg-1", "cv-train", "westeurope"
PROVIDER = "/providers/Microsoft.CognitiveServices"
ARM_ID = f"/subscriptions/{SUB}/resourceGroups/{GROUP}{PROVIDER}/accounts/{NAME}"
DELETED_ID = f"/subscriptions/{SUB}{PROVIDER}/locations/{LOCATION}/resourceGroups/{GROUP}/deletedAccounts/{NAME}"


class StreamingTransport(ScriptedTransport):
    """ScriptedTransport whose responses can also be streamed (the management SDK streams LRO answers)."""

    def send(self, request: HttpRequest, **kwargs: Any) -> Any:
        response = super().send(request, **kwargs)
        response._stream_download_generator = lambda pipeline, resp, **kw: iter([resp.content])
        return response


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-token", int(time.time()) + 3600)


class FakeArm:
    """One account's life: live -> soft-deleted -> purged, as ARM answers it."""

    def __init__(self, state: str = "live", *, refuse_delete: bool = False) -> None:
        self.state = state
        self.refuse_delete = refuse_delete
        self.transport = StreamingTransport(self.handle)

    def calls(self) -> list[str]:
        return [f"{r.method} {path(r)}" for r in self.transport.requests]

    def handle(self, request: HttpRequest) -> tuple[int, Any]:
        where = path(request)
        if where == ARM_ID and request.method == "GET":
            if self.state != "live":
                return 404, {"error": {"code": "ResourceNotFound", "message": "not found"}}
            return 200, {"id": ARM_ID, "name": NAME, "location": LOCATION, "kind": "CustomVision.Training"}
        if where == ARM_ID and request.method == "DELETE":
            if self.refuse_delete:
                return 403, {"error": {"code": "AuthorizationFailed", "message": "no permission"}}
            self.state = "deleted" if self.state == "live" else self.state
            return 200, None
        if where == f"/subscriptions/{SUB}{PROVIDER}/deletedAccounts":
            found = [{"id": DELETED_ID, "name": NAME, "location": LOCATION}] if self.state == "deleted" else []
            return 200, {"value": found}
        if where == DELETED_ID and request.method == "DELETE":
            self.state = "purged"
            return 200, None
        return 404, {"error": {"code": "NotScripted", "message": f"{request.method} {where}"}}

    def factory(self, ref: AccountRef) -> CognitiveServicesManagementClient:
        return CognitiveServicesManagementClient(FakeCredential(), ref.subscription_id, transport=self.transport,
                                                 polling_interval=0)


def _resource(**options: Any) -> ResourceConfig:
    return ResourceConfig(alias="default", endpoint="https://cv.example", **options)


def test_enabled_account_is_deleted_then_purged() -> None:
    arm = FakeArm()
    result = delete_account_category(_resource(arm_id=ARM_ID, allow_account_delete=True), client_factory=arm.factory)
    assert result["status"] == "complete" and result["count"] == 1
    assert arm.state == "purged"
    assert arm.calls() == [f"GET {ARM_ID}", f"DELETE {ARM_ID}", f"DELETE {DELETED_ID}"]
    assert exported_models_result(result)["status"] == "complete"


def test_a_retry_after_the_delete_still_purges() -> None:
    arm = FakeArm("deleted")
    result = delete_account_category(_resource(arm_id=ARM_ID, allow_account_delete=True), client_factory=arm.factory)
    assert result["status"] == "complete" and arm.state == "purged"
    assert arm.calls()[-1] == f"DELETE {DELETED_ID}"


def test_an_already_purged_account_is_done() -> None:
    arm = FakeArm("purged")
    result = delete_account_category(_resource(arm_id=ARM_ID, allow_account_delete=True), client_factory=arm.factory)
    assert result["status"] == "complete"
    assert not any(c.startswith("DELETE") for c in arm.calls())


@pytest.mark.parametrize("options", [{}, {"arm_id": ARM_ID}, {"allow_account_delete": True}])
def test_without_explicit_permission_nothing_is_called_and_the_owner_is_told(options: dict[str, Any]) -> None:
    arm = FakeArm()
    result = delete_account_category(_resource(**options), client_factory=arm.factory)
    assert result["status"] == "skipped" and result["error"]["code"] == "AccountDeleteNotEnabled"
    assert "Azure portal" in result["error"]["message"]
    assert arm.calls() == [] and arm.state == "live"
    models = exported_models_result(result)
    assert models["status"] == "skipped" and "removed with the account" in models["error"]["message"]


def test_a_refused_arm_delete_raises_a_permanent_error_and_purges_nothing() -> None:
    arm = FakeArm(refuse_delete=True)
    with pytest.raises(HttpResponseError) as caught:
        delete_account_category(_resource(arm_id=ARM_ID, allow_account_delete=True), client_factory=arm.factory)
    assert is_permanent(caught.value)
    assert arm.state == "live" and f"DELETE {DELETED_ID}" not in arm.calls()
    assert exported_models_result(None)["status"] == "skipped"


@pytest.mark.parametrize(("state", "cancelled_after", "left"), [
    ("live", 0, "live"),  # cancelled before: nothing deleted
    ("live", 1, "deleted"),  # cancelled after the delete: the soft-deleted account stays recoverable, not purged
    ("deleted", 0, "deleted"),  # a retry after the delete, cancelled meanwhile: no purge
])
def test_a_cancelled_request_deletes_or_purges_nothing_more(state: str, cancelled_after: int, left: str) -> None:
    # The orchestrator skips the account once a project reported the cancel, but a cancel that lands after the
    # projects finished reaches only the activity: it checks the marker (here a counter) before each ARM change.
    arm = FakeArm(state)
    checks: list[int] = []

    def check() -> None:
        checks.append(1)
        if len(checks) > cancelled_after:
            raise DeleteCancelled("cancelled")

    with pytest.raises(DeleteCancelled):
        delete_account_category(_resource(arm_id=ARM_ID, allow_account_delete=True), client_factory=arm.factory,
                                check=check)
    assert arm.state == left
    assert arm.calls().count(f"DELETE {ARM_ID}") == cancelled_after and f"DELETE {DELETED_ID}" not in arm.calls()
