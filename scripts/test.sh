#!/usr/bin/env bash
# npm test: installs what is missing (Debian packages, npm packages, the Temporal CLI), starts
# dockerd when it is not answering, builds the busybox sandbox test image, starts a Temporal dev
# server and a redis-server on test ports, runs the suite. Arguments go to jest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# redis-server: the test servers; docker.io, busybox-static: the sandbox suites and their image;
# docker-compose: test/compose.test.ts; bubblewrap: the namespace sandbox; procps: `ps` in tests;
# openssh-client: ssh-keygen in the scanner's private-key tests.
ensure_tools redis-server docker.io busybox-static docker-compose bubblewrap procps openssh-client
# schemathesis (PyPI) checks the API against its OpenAPI document (test/api/openapi-contract.test.ts).
SCHEMATHESIS_VERSION="4.32.5"
export SCHEMATHESIS_BIN="$ROOT/.tools/schemathesis/bin/st"
if ! "$SCHEMATHESIS_BIN" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into .tools/"
  python3 -m venv "$ROOT/.tools/schemathesis"
  "$ROOT/.tools/schemathesis/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

export TEMPORAL_TEST_PORT="${TEMPORAL_TEST_PORT:-7299}"
export VALKEY_TEST_PORT="${VALKEY_TEST_PORT:-6399}"
RUN_DIR="$ROOT/.data/test-run"
rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR"
trap 'exit 130' INT TERM
trap 'stop_started 30' EXIT

ensure_dockerd || die "the Docker engine did not start (see above); the sandbox suites need it"
bash images/build-test-image.sh

port_open 127.0.0.1 "$TEMPORAL_TEST_PORT" && die "port $TEMPORAL_TEST_PORT is busy; set TEMPORAL_TEST_PORT"
start_temporal "$TEMPORAL_TEST_PORT" "$((TEMPORAL_TEST_PORT + 1))" "$RUN_DIR/temporal.db" "$RUN_DIR/temporal.log" --headless
track "the Temporal dev server" "$RUN_DIR/temporal.log"
if ! port_open 127.0.0.1 "$VALKEY_TEST_PORT"; then
  start_redis "$VALKEY_TEST_PORT" "$RUN_DIR/valkey" "$RUN_DIR/valkey.log"
  track redis-server "$RUN_DIR/valkey.log"
fi
wait_until "redis-server on port $VALKEY_TEST_PORT" 60 port_open 127.0.0.1 "$VALKEY_TEST_PORT"
# The first start on a loaded machine can take over a minute.
wait_until "the Temporal dev server on port $TEMPORAL_TEST_PORT" 300 temporal_healthy "127.0.0.1:$TEMPORAL_TEST_PORT"

export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_TEST_PORT" VALKEY_HOST=127.0.0.1 VALKEY_PORT="$VALKEY_TEST_PORT"
export TEMPORAL_BIN="$TEMPORAL"
log "compiling the scanner CLI"
npm run --silent build:scanner
log "running jest"
npx jest --maxWorkers=2 "$@"
