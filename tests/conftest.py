"""Shared fixtures: each server (Azurite, emulator, devhost) lives in its own plugin module; the long files run
first."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.azurite",
    "tests.fixtures.emulator",
    "tests.fixtures.devhost",
    "tests.fixtures.stack",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked e2e and slow first, then slow, then e2e, then the rest (collection order within each): under
    `--dist loadfile` a worker takes whole files in this order, so the run ends on short files, not on a long
    one that one worker started last while the other sat idle."""
    def rank(item: pytest.Item) -> int:
        marks = {mark.name for mark in item.iter_markers()}
        return {(True, True): 0, (False, True): 1, (True, False): 2}.get(("e2e" in marks, "slow" in marks), 3)

    file_rank: dict[Path, int] = {}
    for item in items:
        file_rank[item.path] = min(rank(item), file_rank.get(item.path, 3))
    items.sort(key=lambda item: file_rank[item.path])  # stable: order within a rank is kept
