"""The top level of the repo keeps DESIGN.md §2's shape, and the app imports and indexes."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_top_level_layout_exists() -> None:
    for name in ["function_app.py", "host.json", "requirements.txt", "requirements-dev.txt",
                 "local.settings.sample.json", "triggers", "orchestrators", "activities", "tests"]:
        assert (ROOT / name).exists(), name


def test_function_app_imports_and_indexes() -> None:
    import function_app

    functions = function_app.app.get_functions()
    names = [f.get_function_name() for f in functions]
    assert len(names) == len(set(names)), "function names must be unique"


def test_requirements_are_pinned() -> None:
    for name in ["requirements.txt", "requirements-dev.txt"]:
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-r"):
                assert "==" in line, f"{name}: {line} is not pinned"


def test_dev_requirements_include_runtime() -> None:
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def test_local_settings_sample_is_valid_json_with_values() -> None:
    data = json.loads((ROOT / "local.settings.sample.json").read_text())
    assert data["Values"]["FUNCTIONS_WORKER_RUNTIME"] == "python"
