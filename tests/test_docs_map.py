"""docs/architecture.md's map of rooms matches the tree: what it names exists, and every room of the app is named.

Rerun: `.venv/bin/python -m pytest tests/test_docs_map.py -v`.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_ROOTS = ("function_app.py", "triggers", "orchestrators", "activities", "dsr", "customvision", "cli", "devhost",
             "emulator", "localrun", "bench")
NOT_APP = frozenset({"tests", ".venv", "node_modules", ".git", ".state", "build"})


def rooms_section() -> str:
    """The text of the `## Map of rooms` section."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    start = text.index("## Map of rooms")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def named_rooms() -> list[str]:
    """The first column of the map: one path a row."""
    return re.findall(r"^\| `([^`]+)` \|", rooms_section(), flags=re.MULTILINE)


def named_paths() -> set[str]:
    """Every code path the section names, in a row's first column or its description."""
    tokens = set(re.findall(r"`([^`\s]+)`", rooms_section()))
    return {t for t in tokens if t.split("/")[0] in APP_ROOTS and re.fullmatch(r"[\w./]+", t)} | set(named_rooms())


def app_packages() -> list[str]:
    """Every package of the app (a directory with __init__.py outside tests/ and installed code), as `path/`."""
    found = []
    for init in ROOT.rglob("__init__.py"):
        parts = init.relative_to(ROOT).parts[:-1]
        if parts and not any(p in NOT_APP or p.startswith(".") for p in parts):
            found.append("/".join(parts) + "/")
    return sorted(found)


def test_every_path_the_map_names_exists() -> None:
    missing = sorted(p for p in named_paths() if not (ROOT / p).exists())
    assert missing == []


def test_every_package_and_top_level_module_is_in_the_map() -> None:
    rooms = set(named_rooms())
    expected = {"function_app.py", *app_packages()}
    assert {"triggers/", "dsr/export/", "cli/", "localrun/", "bench/", "emulator/handlers/"} <= expected
    assert sorted(expected - named_paths()) == []
    assert {"function_app.py", "triggers/", "orchestrators/", "activities/", "dsr/", "customvision/", "cli/",
            "devhost/", "emulator/", "localrun/", "bench/"} <= rooms


def test_every_module_of_dsr_is_a_room_of_the_map() -> None:
    modules = {f"dsr/{p.name}" for p in (ROOT / "dsr").glob("*.py") if p.name != "__init__.py"}
    assert sorted(modules - set(named_rooms())) == []
