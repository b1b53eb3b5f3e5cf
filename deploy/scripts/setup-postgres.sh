#!/bin/sh
# One-shot schema setup for the Temporal server (runs in temporalio/admin-tools; see
# temporal-docker-compose.yml). Creates the `temporal` and `temporal_visibility` databases if
# missing, installs the base schema and applies every versioned update. Safe to re-run: the tool
# skips what is already there.
set -eu

PLUGIN="${DB:-postgres12}"
HOST="${POSTGRES_SEEDS:-postgresql}"
PORT="${DB_PORT:-5432}"
USER_NAME="${POSTGRES_USER:-temporal}"
# temporal-sql-tool reads the password from SQL_PASSWORD.
export SQL_PASSWORD="${SQL_PASSWORD:-${POSTGRES_PWD:-}}"
SCHEMA_DIR="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"

echo "waiting for PostgreSQL at $HOST:$PORT"
tries=0
until nc -z -w 2 "$HOST" "$PORT"; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "PostgreSQL did not open $HOST:$PORT" >&2; exit 1; }
  sleep 1
done

sql() { temporal-sql-tool --plugin "$PLUGIN" --ep "$HOST" -p "$PORT" -u "$USER_NAME" "$@"; }

for pair in "temporal:temporal" "temporal_visibility:visibility"; do
  db="${pair%%:*}"
  dir="${pair#*:}"
  echo "setting up database $db"
  sql --db "$db" create
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$SCHEMA_DIR/$dir/versioned"
done
echo "schema setup complete"
