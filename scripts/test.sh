#!/usr/bin/env bash
# The test suite on SQLite and on PostgreSQL (same tests, schema from the migrations).
#   bash scripts/test.sh                 # both databases, side by side (one process each)
#   VBP_TEST_DBS=sqlite bash scripts/test.sh
#   VBP_TEST_SERIAL=1 bash scripts/test.sh   # one database after the other
# After the main run, each database also runs the security, bidding and crypto tests under the
# domestic suite (VBP_CRYPTO_SUITE=sm: SM4-GCM, SM3, SM2); the main run uses $VBP_CRYPTO_SUITE
# (default standard). VBP_TEST_SM_SUITE=0 skips the extra run.
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
sm_tests=(tests/security tests/bidding tests/crypto)

# One database's runs: the suite, then (unless the main run already was sm, or a selection of
# tests was given) the security and bidding tests under the sm suite.
run_on() {
  python -m pytest --db="$1" -q "${@:2}" || return
  if [ "${VBP_TEST_SM_SUITE:-1}" != 0 ] && [ "${VBP_CRYPTO_SUITE:-standard}" != sm ] && [ "$#" -eq 1 ]; then
    echo "--- ${sm_tests[*]} under VBP_CRYPTO_SUITE=sm on $1 ---"
    # The fuzzer's cases do not depend on the suite: fewer examples per operation here.
    VBP_CRYPTO_SUITE=sm VBP_FUZZ_EXAMPLES="${VBP_FUZZ_EXAMPLES:-2}" python -m pytest --db="$1" -q "${sm_tests[@]}"
  fi
}

if [ "${#dbs[@]}" -eq 1 ] || [ -n "${VBP_TEST_SERIAL:-}" ]; then
  for db in "${dbs[@]}"; do
    echo "=== tests on ${db} ==="
    run_on "${db}" "$@"
  done
  exit 0
fi

# Side by side: each database's run writes its own log, printed whole when it ends.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A pids
for db in "${dbs[@]}"; do
  run_on "${db}" "$@" >"$logs/$db.log" 2>&1 &
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
