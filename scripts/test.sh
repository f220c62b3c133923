#!/usr/bin/env bash
# The test suite on SQLite and on PostgreSQL (same tests, schema from the migrations).
#   bash scripts/test.sh                 # both databases
#   VBP_TEST_DBS=sqlite bash scripts/test.sh
# PostgreSQL: VBP_TEST_PG_ADMIN_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
# each run creates and drops its own databases.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi

ruff check .
ruff format --check .
for db in ${VBP_TEST_DBS:-sqlite postgresql}; do
  echo "=== tests on ${db} ==="
  python -m pytest --db="${db}" -q "$@"
done
