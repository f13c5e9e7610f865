# Sourced by bench/run.sh: start PostgreSQL like .ci/run does, and (re)create
# the benchmark database. Functions only; nothing runs when sourced.
#
# As root on a fresh Debian machine: install postgresql if missing, create and
# start the newest cluster, create the `verity` role (CREATEDB). Otherwise the
# server must already be running at 127.0.0.1:5432 with that role.

bench_log() { printf '\n=== %s ===\n' "$*"; }

bench_postgres_start() {
  if [ "$(id -u)" -eq 0 ]; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
      bench_log "Installing postgresql (Debian)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq postgresql >/dev/null
    fi
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    if ! pg_lsclusters -h | grep -q "^${version} main"; then
      pg_createcluster "$version" main >/dev/null
    fi
    pg_ctlcluster "$version" main start 2>/dev/null || true
    for _ in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && break
      sleep 1
    done
    pg_isready -h 127.0.0.1 -p 5432
    su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'verity') THEN
    CREATE ROLE verity LOGIN PASSWORD 'verity' CREATEDB;
  END IF;
END $$;
SQL
  fi
}

# bench_database_create PYTHON URL: drop and create the database URL names,
# connected as its own user through the `postgres` maintenance database.
bench_database_create() {
  "$1" - "$2" <<'PY'
import sys
from urllib.parse import unquote, urlsplit

import psycopg

url = urlsplit(sys.argv[1])
name = url.path.lstrip("/")
if not name.replace("_", "").isalnum():
    sys.exit(f"refusing to recreate a database named {name!r}")
try:
    server = psycopg.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=unquote(url.username or ""),
        password=unquote(url.password or ""),
        dbname="postgres",
        autocommit=True,
        connect_timeout=10,
    )
except psycopg.OperationalError as exc:
    sys.exit(
        f"PostgreSQL is not reachable at {url.hostname}:{url.port or 5432} ({exc}).\n"
        "Run `make bench` as root to start it, start it yourself, or use BENCH_DB=sqlite."
    )
with server:
    server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.execute(f'CREATE DATABASE "{name}"')
print(f"database {name} created")
PY
}
