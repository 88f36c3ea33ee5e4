"""The client is installed as a `dsr` command (pyproject.toml) and still runs as `python -m dsr`."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib

from localrun.process import REPO_ROOT


def pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_the_console_script_names_the_cli_main() -> None:
    module, _, name = pyproject()["project"]["scripts"]["dsr"].partition(":")
    assert (module, name) == ("cli.main", "main") and callable(getattr(importlib.import_module(module), name))


def test_the_wheel_packages_the_client_and_what_it_imports() -> None:
    from setuptools import find_packages

    include = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = set(find_packages(str(REPO_ROOT), include=include))
    importlib.import_module("cli.main")
    ours = [module for name, module in sys.modules.items() if name.split(".")[0] in ("cli", "dsr", "customvision")]
    assert {"cli", "dsr", "customvision"} <= packages
    assert {module.__package__ for module in ours} <= packages  # every package the client imports is in the wheel


def test_python_m_dsr_still_runs_the_client() -> None:
    done = subprocess.run([sys.executable, "-m", "dsr", "--help"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0 and "usage: python -m dsr" in done.stdout and "export" in done.stdout
