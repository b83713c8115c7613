#!/usr/bin/env bash
# Runs the whole test suite on a throw-away embedded database (see
# tests/conftest.py); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export FIFTYONE_DO_NOT_TRACK=true
exec .venv/bin/python -m pytest -ra "$@"
