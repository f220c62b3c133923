#!/usr/bin/env bash
# One command from a fresh clone: virtualenv, dependencies, database schema, and the demo
# province (the main job) on the embedded SQLite default. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -r requirements-dev.txt

# System packages the platform needs (CJK TrueType font for PDFs, pdftotext for checks).
if [ -x scripts/system-packages.sh ]; then
  bash scripts/system-packages.sh
fi

flask db upgrade
flask demo "$@"
