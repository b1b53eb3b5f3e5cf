#!/usr/bin/env bash
# npm run dev: installs what is missing, then runs the whole service on its embedded defaults:
# a Temporal dev server (SQLite under .data/, Web UI on 8233), a local Valkey (redis-server),
# the worker and the API. Every setting can be overridden with the variables in the README.
# Ctrl-C stops everything this script started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_tools

DATA="$ROOT/.data"
mkdir -p "$DATA/logs"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
export VALKEY_HOST="${VALKEY_HOST:-127.0.0.1}" VALKEY_PORT="${VALKEY_PORT:-6379}"
export ORCHESTRATOR_PORT="${ORCHESTRATOR_PORT:-3001}"
export WORKSPACE_ROOT="${WORKSPACE_ROOT:-$DATA/workspaces}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"

PIDS=()
stop_all() {
  trap - INT TERM EXIT
  log "stopping"
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# An API key for the REST API: generated once, kept in .data/, printed when made.
if [ "${ORCHESTRATOR_AUTH_DISABLED:-false}" != "true" ] && [ -z "${ORCHESTRATOR_API_KEY:-}" ]; then
  if [ ! -s "$DATA/api-key" ]; then
    (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))' >"$DATA/api-key")
    log "generated ORCHESTRATOR_API_KEY (kept in .data/api-key): $(cat "$DATA/api-key")"
  fi
  ORCHESTRATOR_API_KEY="$(cat "$DATA/api-key")"
  export ORCHESTRATOR_API_KEY
fi

if ! port_open "$VALKEY_HOST" "$VALKEY_PORT"; then
  log "starting redis-server on $VALKEY_HOST:$VALKEY_PORT (data in .data/valkey)"
  mkdir -p "$DATA/valkey"
  redis-server --bind "$VALKEY_HOST" --port "$VALKEY_PORT" --dir "$DATA/valkey" --save 60 1 --appendonly no >"$DATA/logs/valkey.log" 2>&1 &
  PIDS+=($!)
  wait_for_port "$VALKEY_HOST" "$VALKEY_PORT" 20 "redis-server"
fi

T_HOST="${TEMPORAL_ADDRESS%:*}" T_PORT="${TEMPORAL_ADDRESS##*:}"
if ! port_open "$T_HOST" "$T_PORT"; then
  log "starting the Temporal dev server on $TEMPORAL_ADDRESS (Web UI http://localhost:$TEMPORAL_UI_PORT, data in .data/temporal.db)"
  PIDS+=("$(start_temporal "$T_PORT" "$TEMPORAL_UI_PORT" "$DATA/temporal.db" "$DATA/logs/temporal.log")")
fi
wait_for_temporal "$TEMPORAL_ADDRESS" 60

if [ "${SANDBOX_ENABLED:-false}" = "true" ]; then
  ensure_dockerd || die "SANDBOX_ENABLED=true needs a Docker engine (apt-get install docker.io)"
  image="${SANDBOX_IMAGE:-orchestrator-sandbox:latest}"
  docker image inspect "$image" >/dev/null 2>&1 || bash images/build-sandbox-image.sh
fi

log "starting the worker (logs in .data/logs/worker.log) and the API on port $ORCHESTRATOR_PORT"
node_modules/.bin/tsx worker/main.ts > >(tee -a "$DATA/logs/worker.log") 2>&1 &
PIDS+=($!)
node_modules/.bin/tsx api/main.ts &
PIDS+=($!)
wait -n "${PIDS[@]}" || true
log "a process exited; stopping the rest"
