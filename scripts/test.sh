#!/usr/bin/env bash
# npm test: installs what is missing, starts a Temporal dev server and a redis-server on test
# ports (and dockerd, with the sandbox test image, when Docker is installed), runs the suite.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_tools

export TEMPORAL_TEST_PORT="${TEMPORAL_TEST_PORT:-7299}"
export VALKEY_TEST_PORT="${VALKEY_TEST_PORT:-6399}"
RUN_DIR="$ROOT/.data/test-run"
rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

port_open 127.0.0.1 "$TEMPORAL_TEST_PORT" && die "port $TEMPORAL_TEST_PORT is busy; set TEMPORAL_TEST_PORT"
PIDS+=("$(start_temporal "$TEMPORAL_TEST_PORT" "$((TEMPORAL_TEST_PORT + 1))" "$RUN_DIR/temporal.db" "$RUN_DIR/temporal.log" --headless)")
port_open 127.0.0.1 "$VALKEY_TEST_PORT" || PIDS+=("$(start_redis "$VALKEY_TEST_PORT" "$RUN_DIR/valkey" "$RUN_DIR/valkey.log")")
wait_for_port 127.0.0.1 "$VALKEY_TEST_PORT" 20 "redis-server"
wait_for_temporal "127.0.0.1:$TEMPORAL_TEST_PORT" 60

export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_TEST_PORT" VALKEY_HOST=127.0.0.1 VALKEY_PORT="$VALKEY_TEST_PORT"
export TEMPORAL_BIN="$TEMPORAL"
if ensure_dockerd; then
  bash images/build-test-image.sh
  export DOCKER_AVAILABLE=true
else
  log "Docker is not available: sandbox tests will fail. Install docker.io (Debian) to run them."
fi

log "running jest"
npx jest --maxWorkers=2 "$@"
