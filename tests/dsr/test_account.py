"""The account category through ARM, with the management SDK replaced at its boundary (no ARM runs here)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dsr.arm import AccountRef, ArmIdError
from dsr.export.account import export_account, key_fingerprint
from dsr.settings import ResourceConfig

ARM_ID = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.CognitiveServices/accounts/cv-train"


class FakeAccount:
    def as_dict(self) -> dict[str, Any]:
        return {"id": ARM_ID, "name": "cv-train", "kind": "CustomVision.Training", "sku": {"name": "S0"}}


class FakeManagement:
    """The two calls export makes: accounts.get and accounts.list_keys."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.accounts = SimpleNamespace(get=self._get, list_keys=self._keys)

    def _get(self, group: str, name: str) -> FakeAccount:
        self.calls.append(("get", group, name))
        return FakeAccount()

    def _keys(self, group: str, name: str) -> SimpleNamespace:
        self.calls.append(("list_keys", group, name))
        return SimpleNamespace(key1="super-secret-key-1", key2="super-secret-key-2")


class MemorySink:
    """Records write_json calls (the Azurite-backed sink is tested in test_sink.py)."""

    def __init__(self) -> None:
        self.files: dict[str, Any] = {}

    def write_json(self, path: str, obj: Any) -> None:
        self.files[path] = obj


def test_arm_id_is_parsed_and_bad_ids_are_refused() -> None:
    assert AccountRef.parse(ARM_ID) == AccountRef("sub-1", "rg-1", "cv-train")
    with pytest.raises(ArmIdError, match="armId must look like"):
        AccountRef.parse("/subscriptions/x/resourceGroups/y")


def test_account_export_writes_properties_and_key_fingerprints_only() -> None:
    fake, sink = FakeManagement(), MemorySink()
    resource = ResourceConfig(alias="default", endpoint="https://x", training_key="k", arm_id=ARM_ID)
    result = export_account(sink, resource, client_factory=lambda ref: fake)  # type: ignore[arg-type]
    assert result["status"] == "complete" and result["count"] == 1
    doc = sink.files["account/account.json"]
    assert doc["sku"] == {"name": "S0"}
    assert doc["keyFingerprints"] == {"key1": key_fingerprint("super-secret-key-1"),
                                      "key2": key_fingerprint("super-secret-key-2")}
    assert "super-secret" not in str(doc)
    assert fake.calls == [("get", "rg-1", "cv-train"), ("list_keys", "rg-1", "cv-train")]


def test_without_arm_id_the_category_is_skipped_with_the_reason() -> None:
    sink = MemorySink()
    result = export_account(sink, ResourceConfig(alias="default", endpoint="https://x"))  # type: ignore[arg-type]
    assert result["status"] == "skipped" and result["error"]["code"] == "NoArmResourceId"
    assert "Azure portal" in result["error"]["message"]
    assert sink.files == {}
