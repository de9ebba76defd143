#!/usr/bin/env bash
# The always-on deployment on one machine, without Docker: the two user-code gRPC servers (the
# loads, and the dbt analytics), the webserver and the daemon as four processes sharing
# deploy/dagster.yaml (Postgres storage) and deploy/workspace.yaml. Stop it with Ctrl-C or SIGTERM: it stops all three and waits.
#
#   export DAGSTER_HOME=$PWD/.dagster_stack DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_PORT=5432 \
#          DAGSTER_PG_DB=dagster DAGSTER_PG_USER=dagster DAGSTER_PG_PASSWORD=<password>
#   export TAXI_PG_URL=postgresql://warehouse:<password>@127.0.0.1:5432/warehouse
#   deploy/run-stack.sh       # UI on http://127.0.0.1:3000
#
# Optional: DAGSTER_GRPC_PORT (4000), DAGSTER_ANALYTICS_GRPC_PORT (4001), DAGSTER_WEBSERVER_HOST (127.0.0.1),
# DAGSTER_WEBSERVER_PORT (3000), VENV (.venv). Runs execute as children of the gRPC server.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DAGSTER_HOME:?set DAGSTER_HOME to a folder for this instance}"
for name in DAGSTER_PG_HOST DAGSTER_PG_PORT DAGSTER_PG_DB DAGSTER_PG_USER; do
  [ -n "${!name:-}" ] || { echo "run-stack: set $name (see deploy/dagster.yaml)" >&2; exit 2; }
done
export DAGSTER_PG_PASSWORD=${DAGSTER_PG_PASSWORD:-}
export DAGSTER_GRPC_HOST=127.0.0.1 DAGSTER_GRPC_PORT=${DAGSTER_GRPC_PORT:-4000}
export DAGSTER_ANALYTICS_GRPC_HOST=127.0.0.1
export DAGSTER_ANALYTICS_GRPC_PORT=${DAGSTER_ANALYTICS_GRPC_PORT:-4001}
WEB_HOST=${DAGSTER_WEBSERVER_HOST:-127.0.0.1}
WEB_PORT=${DAGSTER_WEBSERVER_PORT:-3000}
BIN=${VENV:-.venv}/bin

mkdir -p "$DAGSTER_HOME"
ln -sf "$PWD/deploy/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"

# Dagster maps SIGTERM onto its SIGINT handler, but a background job (and anything started by
# a backgrounded shell) inherits SIGINT ignored, so it would ignore SIGTERM too. Each process
# is started with SIGINT back at its default, so SIGTERM stops it cleanly. Called only with `&`:
# `exec` makes the background subshell become the process, so $! is the process itself.
with_sigint() {
  exec "$BIN/python" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$@"
}

PIDS=()
stop() {
  trap - TERM INT EXIT
  echo "run-stack: stopping ${PIDS[*]}" >&2
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  for _ in $(seq 60); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# code_server MODULE LOCATION PORT: start a code location's gRPC server and wait until it serves.
code_server() {
  with_sigint "$BIN/dagster" code-server start -h 127.0.0.1 -p "$3" -m "$1" \
    --location-name "$2" &
  PIDS+=($!)
  until "$BIN/dagster" api grpc-health-check -h 127.0.0.1 -p "$3" >/dev/null 2>&1; do
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "run-stack: the $2 code server exited" >&2; exit 1; }
    sleep 1
  done
}
code_server taxi_assets taxi_assets "$DAGSTER_GRPC_PORT"
code_server taxi_assets.analytics taxi_analytics "$DAGSTER_ANALYTICS_GRPC_PORT"

with_sigint "$BIN/dagster-webserver" -h "$WEB_HOST" -p "$WEB_PORT" -w deploy/workspace.yaml &
PIDS+=($!)
# The pools' limits before the daemon's first pass, which would not count a new one
# (taxi_assets/shared/pools.py).
"$BIN/python" -m taxi_assets.shared.pools
with_sigint "$BIN/dagster-daemon" run -w deploy/workspace.yaml &
PIDS+=($!)
echo "run-stack: UI on http://$WEB_HOST:$WEB_PORT" >&2

# Runs until stopped, or until one of the four exits (then the others are stopped too).
wait -n
echo "run-stack: a process exited; stopping the others" >&2
exit 1
