"""Shared fixtures: each server (Azurite, emulator, devhost) lives in its own plugin module."""

pytest_plugins = [
    "tests.fixtures.azurite",
    "tests.fixtures.emulator",
    "tests.fixtures.devhost",
    "tests.fixtures.stack",
]
