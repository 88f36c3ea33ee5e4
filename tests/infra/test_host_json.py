"""host.json: valid against the Functions host.json schema, and tuned for Python on Flex Consumption."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from dsr.export.manifest_parts import PART_FILES

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT.parent / "shared" / "reference" / "host.json.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict:
    if not SCHEMA.is_file():
        pytest.skip(f"host.json schema not found at {SCHEMA} (shared/ is checked out beside the repo)")
    return json.loads(SCHEMA.read_text("utf-8"))


@pytest.fixture(scope="module")
def host() -> dict:
    return json.loads((ROOT / "host.json").read_text("utf-8"))


def test_host_json_is_valid(schema: dict, host: dict) -> None:
    jsonschema.validate(host, schema)


def test_schema_rejects_a_misspelt_durable_setting(schema: dict, host: dict) -> None:
    """The validation above has teeth: the schema closes durableTask to unknown keys."""
    bad = copy.deepcopy(host)
    bad["extensions"]["durableTask"]["maxConcurrentActivityFunction"] = 8
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_durable_settings_devhost_and_azure_read(host: dict) -> None:
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "CustomVisionDsr"
    # Python runs sync activities on PYTHON_THREADPOOL_THREAD_COUNT threads (infra: 16) in one worker per
    # Flex instance: 8-16 concurrent activities keep the threads busy without queueing behind each other.
    assert 8 <= durable["maxConcurrentActivityFunctions"] <= 16
    assert 1 <= durable["maxConcurrentOrchestratorFunctions"] <= durable["maxConcurrentActivityFunctions"]
    assert durable["storageProvider"]["maxQueuePollingInterval"] <= "00:00:30"


def test_history_and_logs_never_carry_inputs(host: dict) -> None:
    """Activity inputs/outputs may name projects and images: they stay out of traces (GDPR data minimisation)."""
    tracing = host["extensions"]["durableTask"]["tracing"]
    assert tracing["traceInputsAndOutputs"] is False


def test_the_longest_activity_of_the_largest_export_fits_in_one_function_execution(host: dict) -> None:
    """Flex Consumption stops an execution after functionTimeout (30 min by default: "Function app timeout duration",
    Azure Functions docs). The activity that grows with a whole export is the manifest's: its file list is listed in
    parts of PART_FILES (4.1 s per 10,000 files on this machine, the Blob SDK's XML parsing), then written from the
    parts (0.14 s per 10,000; both measured on 40,000 files: docs/operations.md, "10 million images"): at 10 M files
    about 80 s a part and 2.5 min for the manifest, each with a margin of 5 for a slower instance."""
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    timeout = hours * 3600 + minutes * 60 + seconds
    listing_per_file, writing_per_file, margin = 4.1 / 10_000, 0.14 / 10_000, 5
    assert margin * PART_FILES * listing_per_file <= timeout
    assert margin * 10_000_000 * writing_per_file <= timeout
