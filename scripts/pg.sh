#!/usr/bin/env bash
# Start a throwaway local PostgreSQL server for the tests; prints `export SUARA_TEST_PG=...`.
# Usage: eval "$(bash scripts/pg.sh start)"   ...   bash scripts/pg.sh stop
# Prints nothing to eval (and says why on stderr) when no server can be started here.
set -uo pipefail
PORT=${SUARA_TEST_PG_PORT:-55432}
DIR=${SUARA_TEST_PG_DIR:-/tmp/suara-test-pg}

find_bin() {
  command -v "$1" 2>/dev/null && return
  ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

as_owner() {
  # PostgreSQL refuses to run as root: use the postgres account when we are root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
start)
  if [ -z "$(find_bin initdb)" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL from the system packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2 || true
  fi
  INITDB=$(find_bin initdb); PGCTL=$(find_bin pg_ctl)
  if [ -z "$INITDB" ] || [ -z "$PGCTL" ]; then echo "no PostgreSQL binaries: tests run on SQLite only" >&2; exit 0; fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then echo "no postgres account: tests run on SQLite only" >&2; exit 0; fi
  as_owner "$PGCTL" -D "$DIR" stop -m fast >/dev/null 2>&1 || true
  rm -rf "$DIR"; mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  if ! as_owner "$INITDB" -D "$DIR" -A trust -U postgres >"$DIR.initdb.log" 2>&1; then
    echo "initdb failed (see $DIR.initdb.log): tests run on SQLite only" >&2; exit 0
  fi
  if ! as_owner "$PGCTL" -D "$DIR" -w -l "$DIR/server.log" \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >&2; then
    echo "PostgreSQL did not start (see $DIR/server.log): tests run on SQLite only" >&2; exit 0
  fi
  echo "export SUARA_TEST_PG=postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
  ;;
stop)
  PGCTL=$(find_bin pg_ctl)
  [ -n "$PGCTL" ] && [ -d "$DIR" ] && as_owner "$PGCTL" -D "$DIR" stop -m fast >/dev/null 2>&1
  exit 0
  ;;
esac
