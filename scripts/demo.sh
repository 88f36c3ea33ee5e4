#!/usr/bin/env bash
# Set up and run the main job on the local stack (Azurite + emulator + devhost), printing the results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m localrun.demo "$@"
