#!/bin/sh
# One-shot step after the Temporal server is healthy (runs in temporalio/admin-tools; see
# temporal-docker-compose.yml): creates the namespace and registers the orchestrator's custom
# search attributes, then waits until the frontend accepts a visibility query that uses them, so
# the API and the worker never start a run the server would reject. Idempotent.
set -eu

NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
RETENTION="${NAMESPACE_RETENTION:-168h}"
# Keep in step with domain/search-attributes.ts and scripts/lib.sh.
SEARCH_ATTRIBUTES="TaskId AgentType AgentStatus Repository GateProfile RetryOf ForkOf"

host="${ADDRESS%:*}"
port="${ADDRESS##*:}"
# Dial the IPv4 address: the container's resolver may list an IPv6 address first that the
# server does not bind.
ip="$(getent ahosts "$host" 2>/dev/null | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }')"
[ -n "$ip" ] && ADDRESS="$ip:$port"

# retry TRIES WHAT CMD...: runs CMD every 2 s until it succeeds, at most TRIES times.
retry() {
  max="$1" what="$2"
  shift 2
  n=0
  until "$@" >/dev/null 2>&1; do
    n=$((n + 1))
    [ "$n" -lt "$max" ] || { echo "gave up waiting: $what" >&2; "$@" >&2 || true; exit 1; }
    sleep 2
  done
}

echo "waiting for Temporal at $ADDRESS"
retry 60 "Temporal at $ADDRESS to become healthy" temporal operator cluster health --address "$ADDRESS"

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  echo "creating namespace $NAMESPACE (retention $RETENTION)"
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
fi

# A new namespace reaches every service's namespace cache within a few seconds.
retry 60 "namespace $NAMESPACE to be served" temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS"
existing="$(temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS")"
for name in $SEARCH_ATTRIBUTES; do
  if printf '%s\n' "$existing" | awk '{ print $1 }' | grep -qx "$name"; then
    echo "search attribute $name exists"
  else
    echo "registering search attribute $name (Keyword)"
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword --address "$ADDRESS"
  fi
done

# The frontend caches search attributes; wait until a query naming all of them is accepted.
query=""
for name in $SEARCH_ATTRIBUTES; do
  query="${query:+$query AND }$name = 'probe'"
done
retry 90 "search attributes to be accepted in visibility queries" \
  temporal workflow list --namespace "$NAMESPACE" --query "$query" --limit 1 --address "$ADDRESS"
echo "namespace $NAMESPACE ready with search attributes: $SEARCH_ATTRIBUTES"
