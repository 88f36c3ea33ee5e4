#!/usr/bin/env bash
# Set up, lint, and run the whole test suite (unit, contract, end to end). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
# Two workers (PYTEST_WORKERS), each taking whole test files so module fixtures (Azurite, emulators) stay shared.
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
