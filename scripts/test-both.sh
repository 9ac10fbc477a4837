#!/usr/bin/env bash
# The whole suite on SQLite and on PostgreSQL at the same time (make test).
#
# Two pytest processes side by side: most tests wait on servers, brokers and browsers, so the
# two passes share the two cores well and `make test` stays within its time budget. Each pass
# writes its own log; both are printed when both are done, then a summary line per database.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
logs=tests/artifacts/logs
mkdir -p "$logs"
COMPTOIR_TEST_DB=sqlite "$BIN/pytest" --durations=25 "$@" >"$logs/sqlite.log" 2>&1 &
sqlite=$!
COMPTOIR_TEST_DB=postgresql "$BIN/pytest" --durations=25 "$@" >"$logs/postgresql.log" 2>&1 &
postgresql=$!
echo "Running the suite on SQLite (pid $sqlite) and PostgreSQL (pid $postgresql): $logs/"
wait "$sqlite"
sqlite_rc=$?
wait "$postgresql"
postgresql_rc=$?
for db in sqlite postgresql; do
    echo "======================== $db ========================"
    cat "$logs/$db.log"
done
echo "SQLite:     $(tail -n 1 "$logs/sqlite.log") (exit $sqlite_rc)"
echo "PostgreSQL: $(tail -n 1 "$logs/postgresql.log") (exit $postgresql_rc)"
[ "$sqlite_rc" -eq 0 ] && [ "$postgresql_rc" -eq 0 ]
