#!/usr/bin/env bash
# npm run dev: installs what is missing, then runs the whole service on its embedded defaults:
# a Temporal dev server (SQLite under .data/, Web UI on 8233), a local Valkey (redis-server,
# append-only file under .data/valkey), the worker and the API, and waits until the API reports
# ready. Every setting can be overridden with the variables in the README; ORCHESTRATOR_DATA_DIR
# moves .data/. Ctrl-C stops everything this script started and returns once all of it has exited.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DATA="${ORCHESTRATOR_DATA_DIR:-$ROOT/.data}"
LOGS="$DATA/logs"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
export VALKEY_HOST="${VALKEY_HOST:-127.0.0.1}" VALKEY_PORT="${VALKEY_PORT:-6379}"
export ORCHESTRATOR_PORT="${ORCHESTRATOR_PORT:-3001}"
export WORKSPACE_ROOT="${WORKSPACE_ROOT:-$DATA/workspaces}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
# The first start on a busy machine can take over a minute; a process that dies ends the wait at once.
START_TIMEOUT="${DEV_START_TIMEOUT_SECONDS:-300}"
T_HOST="${TEMPORAL_ADDRESS%:*}" T_PORT="${TEMPORAL_ADDRESS##*:}"
API_HOST="${ORCHESTRATOR_HOST:-127.0.0.1}"
[ "$API_HOST" = 0.0.0.0 ] && API_HOST=127.0.0.1

extra=()
port_open "$VALKEY_HOST" "$VALKEY_PORT" || extra+=(redis-server)
# The default sandbox (bubblewrap) too: without it the worker refuses to start.
read -r -a sandbox_pkgs <<<"$(sandbox_packages)"
extra+=("${sandbox_pkgs[@]}")
ensure_tools "${extra[@]}"
mkdir -p "$LOGS"

on_exit() {
  trap '' INT TERM # a second Ctrl-C must not cut the shutdown short
  log "stopping"
  stop_started 30
  log "stopped"
}
trap 'exit 130' INT TERM
trap on_exit EXIT

# Pids of the processes that have the file, or its SQLite companions (-wal, -shm, -journal), open.
file_holders() { # path
  { find /proc/[0-9]*/fd -maxdepth 1 \( -lname "$1" -o -lname "$1-*" \) 2>/dev/null || true; } | cut -d/ -f3 | sort -u
}

describe_pids() { # pids...
  local p
  for p in "$@"; do printf 'pid %s (%s) ' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"; done
}

# A Temporal dev server that is still closing (or one started elsewhere on the same file) holds
# the SQLite database; a new server would die with SQLITE_BUSY. Wait for it, or name it.
wait_for_db_release() { # db seconds
  local start=$SECONDS next=0 holders
  while holders="$(file_holders "$1")" && [ -n "$holders" ]; do
    # shellcheck disable=SC2086
    ((SECONDS - start < $2)) || die "$1 is still held by $(describe_pids $holders)after $2s; stop it, or set ORCHESTRATOR_DATA_DIR to use another directory"
    if ((SECONDS - start >= next)); then
      # shellcheck disable=SC2086
      log "waiting for $(describe_pids $holders)to release $1"
      next=$((next + 5))
    fi
    sleep 0.5
  done
}

valkey() { redis-cli -h "$VALKEY_HOST" -p "$VALKEY_PORT" "$@"; }
valkey_ready() { [ "$(valkey ping 2>/dev/null)" = PONG ]; }
# The rewrite that `CONFIG SET appendonly yes` starts has written the append-only file.
aof_written() {
  local info
  info="$(valkey info persistence 2>/dev/null | tr -d '\r')"
  grep -qx 'aof_rewrite_in_progress:0' <<<"$info" && grep -qx 'aof_rewrite_scheduled:0' <<<"$info"
}

# A worker polls the task queue (asked of Temporal, so the API does not log a failed probe each time).
worker_polling() {
  local described
  described="$("$TEMPORAL" task-queue describe --address "$TEMPORAL_ADDRESS" --namespace "${TEMPORAL_NAMESPACE:-default}" \
    --task-queue "${TEMPORAL_TASK_QUEUE:-agent-runs}" -o json 2>/dev/null)" || return 1
  grep -q '"identity"' <<<"$described"
}

api_ready() { # GET /health/ready answers 200: Temporal, Valkey and a polling worker are up
  (
    exec 3<>"/dev/tcp/$API_HOST/$ORCHESTRATOR_PORT" || exit 1
    printf 'GET /health/ready HTTP/1.0\r\nHost: %s\r\n\r\n' "$API_HOST" >&3
    read -r -t 5 _ status _ <&3 && [ "$status" = 200 ]
  ) 2>/dev/null
}

# An API key for the REST API: generated once, kept in the data directory, printed when made.
if [ "${ORCHESTRATOR_AUTH_DISABLED:-false}" != "true" ] && [ -z "${ORCHESTRATOR_API_KEY:-}" ]; then
  if [ ! -s "$DATA/api-key" ]; then
    (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))' >"$DATA/api-key")
    log "generated ORCHESTRATOR_API_KEY (kept in $DATA/api-key): $(cat "$DATA/api-key")"
  fi
  ORCHESTRATOR_API_KEY="$(cat "$DATA/api-key")"
  export ORCHESTRATOR_API_KEY
fi

if ! port_open "$VALKEY_HOST" "$VALKEY_PORT"; then
  VALKEY_DIR="$DATA/valkey"
  mkdir -p "$VALKEY_DIR"
  # Append-only file, fsync every second: at most a second of writes is lost on a crash.
  persistence=(--appendonly yes --appendfsync everysec)
  # Data from before the append-only file: Redis ignores dump.rdb when it starts with appendonly
  # yes and no AOF exists, so load the dump first and switch AOF on at runtime (it writes the data).
  from_dump=false
  if [ -f "$VALKEY_DIR/dump.rdb" ] && [ ! -d "$VALKEY_DIR/appendonlydir" ]; then
    persistence=(--appendonly no)
    from_dump=true
  fi
  log "starting redis-server on $VALKEY_HOST:$VALKEY_PORT (append-only file in $VALKEY_DIR)"
  redis-server --bind "$VALKEY_HOST" --port "$VALKEY_PORT" --dir "$VALKEY_DIR" --save "" "${persistence[@]}" >"$LOGS/valkey.log" 2>&1 &
  track redis-server "$LOGS/valkey.log"
  wait_until "redis-server on $VALKEY_HOST:$VALKEY_PORT" "$START_TIMEOUT" valkey_ready
  if $from_dump; then
    valkey config set appendfsync everysec >/dev/null
    valkey config set appendonly yes >/dev/null
    wait_until "the append-only file from $VALKEY_DIR/dump.rdb" "$START_TIMEOUT" aof_written
    grep -qx 'aof_last_bgrewrite_status:ok' <<<"$(valkey info persistence | tr -d '\r')" || die "redis-server could not write its append-only file; see $LOGS/valkey.log"
    log "moved the data of $VALKEY_DIR/dump.rdb into the append-only file"
  fi
fi

if ! port_open "$T_HOST" "$T_PORT"; then
  wait_for_db_release "$DATA/temporal.db" "${DEV_DB_WAIT_SECONDS:-60}"
  log "starting the Temporal dev server on $TEMPORAL_ADDRESS (Web UI http://localhost:$TEMPORAL_UI_PORT, data in $DATA/temporal.db)"
  start_temporal "$T_PORT" "$TEMPORAL_UI_PORT" "$DATA/temporal.db" "$LOGS/temporal.log"
  track "the Temporal dev server" "$LOGS/temporal.log"
fi
wait_until "the Temporal dev server at $TEMPORAL_ADDRESS" "$START_TIMEOUT" temporal_healthy "$TEMPORAL_ADDRESS"

if [ "$(sandbox_runtime)" = docker ]; then
  ensure_dockerd || die "the docker sandbox (SANDBOX_RUNTIME=docker or SANDBOX_ENABLED=true) needs a Docker engine and dockerd did not start"
  image="${SANDBOX_IMAGE:-orchestrator-sandbox:latest}"
  docker image inspect "$image" >/dev/null 2>&1 || bash images/build-sandbox-image.sh
fi

# The worker and the API run as compiled JavaScript: under tsx each process holds ~80 MB more.
# Compiled again when a source file is newer than the last build.
BUILD_STAMP="$ROOT/dist/.build-stamp"
if [ ! -f "$BUILD_STAMP" ] || [ -n "$(find workflows activities worker api domain config state scanner package-lock.json tsconfig.json tsconfig.build.json -newer "$BUILD_STAMP" -print -quit)" ]; then
  log "compiling the worker and the API (npm run build)"
  npm run --silent build || die "npm run build failed"
  touch "$BUILD_STAMP"
fi

log "starting the worker and the API on port $ORCHESTRATOR_PORT (logs in $LOGS/worker.log and api.log)"
: >"$LOGS/worker.log"
: >"$LOGS/api.log"
# Shows both logs here; started first so it is stopped last and prints the shutdown lines.
tail -q -n +1 -F "$LOGS/worker.log" "$LOGS/api.log" 2>/dev/null &
track "the log follower" /dev/null
node dist/worker/main.js >>"$LOGS/worker.log" 2>&1 &
track "the worker" "$LOGS/worker.log"
node dist/api/main.js >>"$LOGS/api.log" 2>&1 &
track "the API" "$LOGS/api.log"
wait_until "the worker to poll ${TEMPORAL_TASK_QUEUE:-agent-runs}" "$START_TIMEOUT" worker_polling
wait_until "the API to report ready on $API_HOST:$ORCHESTRATOR_PORT/health/ready" "$START_TIMEOUT" api_ready
log "ready: API http://$API_HOST:$ORCHESTRATOR_PORT, Temporal Web UI http://localhost:$TEMPORAL_UI_PORT; Ctrl-C stops everything"

status=0
wait -n -p exited "${STARTED_PIDS[@]}" || status=$?
for i in "${!STARTED_PIDS[@]}"; do
  [ "${STARTED_PIDS[$i]}" = "${exited:-}" ] && report_exit "$i" "$status"
done
exit 1
