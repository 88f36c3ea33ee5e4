#!/usr/bin/env bash
# Idempotent setup: a venv with requirements-dev.txt, and `npm ci` for Azurite. Re-runs only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha 2>/dev/null || true)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > .venv/.requirements.sha
fi
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/azurite ] || [ "$(cat node_modules/.lock.sha 2>/dev/null || true)" != "$lock" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" > node_modules/.lock.sha
fi
