"""LocalRun's wiring: the settings it gives the app (no servers started here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsr.settings import Settings
from localrun.process import REPO_ROOT
from localrun.stack import DEFAULT_STATE_DIR, LocalRun, app_settings, sample_settings


def settings(**overrides: object) -> dict[str, str]:
    values: dict[str, object] = {
        "emulator_endpoint": "http://127.0.0.1:1",
        "training_key": "local-training-key",
        "storage_connection_string": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;",
        "container": "dsr-exports",
        "receipt_signing_key": "receipt-key",
        "defaults": sample_settings(REPO_ROOT),
        **overrides,
    }
    return app_settings(**values)  # type: ignore[arg-type]


def test_every_setting_of_the_sample_is_given_with_local_servers_over_it() -> None:
    """So a developer's local.settings.json cannot leak into the demo or the tests."""
    sample = json.loads((REPO_ROOT / "local.settings.sample.json").read_text())["Values"]
    given = settings()
    assert set(sample) <= set(given)
    assert given["CUSTOMVISION_ENDPOINT"] == "http://127.0.0.1:1" and given["EXPORT_CONTAINER"] == "dsr-exports"
    assert given["AzureWebJobsStorage"] == given["EXPORT_STORAGE_CONNECTION_STRING"] != sample["AzureWebJobsStorage"]
    assert given["RECEIPT_SIGNING_KEY"] == "receipt-key" != sample["RECEIPT_SIGNING_KEY"]


def test_a_missing_sample_gives_no_defaults(tmp_path: Path) -> None:
    assert sample_settings(tmp_path) == {}


def test_the_app_reads_one_default_resource_at_its_own_rate() -> None:
    parsed = Settings.from_env(settings())
    assert list(parsed.resources) == ["default"]
    assert parsed.resource("default").endpoint == "http://127.0.0.1:1"
    assert parsed.resource("default").training_key == "local-training-key"
    assert parsed.resource("default").tps == 10
    assert parsed.export_container == "dsr-exports" and parsed.receipt_signing_key == "receipt-key"


def test_client_tps_redefines_default_with_a_rate() -> None:
    parsed = Settings.from_env(settings(client_tps=500))
    assert list(parsed.resources) == ["default"]
    assert parsed.resource("default").tps == 500
    assert parsed.resource("default").training_key == "local-training-key"


def test_keys_are_fresh_per_stack_and_nothing_runs_before_start() -> None:
    first, second = LocalRun(), LocalRun()
    assert first.state_dir == DEFAULT_STATE_DIR
    assert first.function_key != second.function_key
    assert first.receipt_signing_key != second.receipt_signing_key
    with pytest.raises(AssertionError, match="not started"):
        _ = first.base_url
    first.stop()  # stopping a stack that never started is harmless
