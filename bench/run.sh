#!/usr/bin/env bash
# `make bench`: start PostgreSQL (as root, like .ci/run), create the bench
# database, migrate, generate the data, run every measurement, print every
# figure. See docs/PERFORMANCE.md for what is measured and what it showed.
#
# Environment:
#   BENCH_DB=postgres|sqlite   database (default postgres)
#   BENCH_SESSIONS=N           sessions generated (default 1,000,000 on
#                              PostgreSQL, 50,000 on SQLite)
#   BENCH_DATABASE_URL         the PostgreSQL database to (re)create and use
#                              (default postgres://verity:verity@127.0.0.1:5432/verity_bench;
#                              it is dropped and recreated: never point it at real data)
#   BENCH_REUSE=1              keep the database if it already holds
#                              BENCH_SESSIONS generated sessions (skip generation)
#   BENCH_ONLY=sync,pace,queue,export,selection,admin,audit,overview,clients,session   run only some measurements
#   BENCH_SYNC_SESSIONS, BENCH_SYNC_REPEAT, BENCH_SYNC_E2E_REPEAT, BENCH_PACE_*, BENCH_REPEAT,
#   BENCH_EXPORT_REPEAT, BENCH_IMPORT_EXPORT_ROWS, BENCH_EXPLAIN=1: see bench/main.py
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/postgres.sh
source bench/postgres.sh

PY=.venv/bin/python
BENCH_DB=${BENCH_DB:-postgres}
export DJANGO_SETTINGS_MODULE=bench.settings
# The bench never uses the caller's DATABASE_URL: it truncates what it loads.
unset DATABASE_URL

case "$BENCH_DB" in
  postgres|postgresql)
    BENCH_SESSIONS=${BENCH_SESSIONS:-1000000}
    BENCH_DATABASE_URL=${BENCH_DATABASE_URL:-postgres://verity:verity@127.0.0.1:5432/verity_bench}
    bench_log "PostgreSQL"
    bench_postgres_start
    export DATABASE_URL=$BENCH_DATABASE_URL
    ;;
  sqlite)
    BENCH_SESSIONS=${BENCH_SESSIONS:-50000}
    mkdir -p var/bench
    export DATABASE_URL="sqlite:///$PWD/var/bench/bench.sqlite3"
    ;;
  *)
    echo "BENCH_DB must be postgres or sqlite, not '$BENCH_DB'" >&2
    exit 2
    ;;
esac
BENCH_SESSIONS=${BENCH_SESSIONS//[_,]/}

have_data() {
  [ "${BENCH_REUSE:-}" = "1" ] || return 1
  local count
  count=$("$PY" - <<'PY' 2>/dev/null || true
from bench.harness import django_setup
django_setup()
from sessions_app.models import WorkflowSession
print(WorkflowSession.objects.filter(connection__slug__startswith="bench-").count())
PY
)
  [ "$count" = "$BENCH_SESSIONS" ]
}

started=$(date +%s)
if have_data; then
  bench_log "Reusing the $BENCH_SESSIONS generated sessions (BENCH_REUSE=1)"
  "$PY" manage.py migrate --noinput -v0
else
  bench_log "Fresh database, migrations"
  if [ "$BENCH_DB" = sqlite ]; then
    rm -f var/bench/bench.sqlite3 var/bench/bench.sqlite3-wal var/bench/bench.sqlite3-shm
  else
    bench_database_create "$PY" "$DATABASE_URL"
  fi
  "$PY" manage.py migrate --noinput -v0
  bench_log "Generating $BENCH_SESSIONS sessions"
  "$PY" bench/generate.py --sessions "$BENCH_SESSIONS"
fi

bench_log "Measurements"
"$PY" -m bench.main --only "${BENCH_ONLY:-sync,pace,queue,export,selection,admin,audit,overview,clients,session}"
echo "make bench took $(( $(date +%s) - started )) s in all"
