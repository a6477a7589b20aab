#!/usr/bin/env bash
# Run the test suite (after scripts/setup.sh). Starts a throwaway PostgreSQL server when
# one can be started here, so store tests run on both back ends; else SQLite only.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
if [ -z "${SUARA_TEST_PG:-}" ] && [ "${SUARA_TEST_NO_PG:-0}" != 1 ]; then
  eval "$(bash scripts/pg.sh start)"
  trap 'bash scripts/pg.sh stop' EXIT
fi
python -m pytest -q "$@"
