#!/usr/bin/env bash
# The test suite on SQLite and on PostgreSQL (same tests, schema from the migrations).
#   bash scripts/test.sh                 # both databases, side by side (one process each)
#   VBP_TEST_DBS=sqlite bash scripts/test.sh
#   VBP_TEST_SERIAL=1 bash scripts/test.sh   # one database after the other
# PostgreSQL: VBP_TEST_PG_ADMIN_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
# each run creates and drops its own databases, so the two runs share nothing but the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi

ruff check .
ruff format --check .
dbs=(${VBP_TEST_DBS:-sqlite postgresql})
if [ "${#dbs[@]}" -eq 1 ] || [ -n "${VBP_TEST_SERIAL:-}" ]; then
  for db in "${dbs[@]}"; do
    echo "=== tests on ${db} ==="
    python -m pytest --db="${db}" -q "$@"
  done
  exit 0
fi

# Side by side: each database's run writes its own log, printed whole when it ends.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A pids
for db in "${dbs[@]}"; do
  python -m pytest --db="${db}" -q "$@" >"$logs/$db.log" 2>&1 &
  pids[$db]=$!
done
status=0
for db in "${dbs[@]}"; do
  if wait "${pids[$db]}"; then rc=0; else rc=$?; fi
  echo "=== tests on ${db} (exit ${rc}) ==="
  cat "$logs/$db.log"
  [ "$rc" -eq 0 ] || status=$rc
done
exit "$status"
