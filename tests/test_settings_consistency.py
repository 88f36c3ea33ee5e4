"""Every setting the app reads is in local.settings.sample.json, and the sample is a valid local.settings.json.

The settings are found by scanning the code the app imports (tests/infra/settings_scan.py); the Bicep side of
the same check is tests/infra/test_bicep.py::test_app_settings_cover_every_setting_the_code_reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.infra.settings_scan import scan

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "reference" / "local.settings.json.schema.json"
SAMPLE = ROOT / "local.settings.sample.json"


@pytest.fixture(scope="module")
def sample() -> dict:
    return json.loads(SAMPLE.read_text("utf-8"))


def test_sample_is_a_valid_local_settings_file(sample: dict) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"local.settings.json schema not found at {SCHEMA} (shared/ is checked out beside the repo)")
    jsonschema.validate(sample, json.loads(SCHEMA.read_text("utf-8")))
    assert all(isinstance(value, str) for value in sample["Values"].values()), "app settings are strings"


def test_sample_lists_every_setting_the_code_reads(sample: dict) -> None:
    found = scan(ROOT)
    print(found.report())  # what was found, where (pytest -s, or on failure)
    values = sample["Values"]
    missing = []
    for item in found.found:
        if item.kind == "connection":
            ok = item.name in values or any(key.startswith(f"{item.name}__") for key in values)
        else:
            ok = item.name in values
        if not ok:
            missing.append(f"{item.name} ({item.kind}, {item.where})")
    assert sorted(set(missing)) == []


def test_scanner_found_the_documented_settings() -> None:
    """The scan is not vacuous: the settings DESIGN.md §3 names are among what it found."""
    names = scan(ROOT).names()
    assert {
        "CUSTOMVISION_ENDPOINT", "CUSTOMVISION_TRAINING_KEY", "CUSTOMVISION_RESOURCES",
        "EXPORT_STORAGE_CONNECTION_STRING", "EXPORT_STORAGE_ACCOUNT_URL", "EXPORT_CONTAINER", "RECEIPT_SIGNING_KEY",
    } <= names
