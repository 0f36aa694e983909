#!/usr/bin/env bash
# The README's main-job command, on the embedded default (one SQLite file): validate the example project,
# create a process work pool, deploy, start a worker, run a deployment, follow its logs to its final state, and
# stop the worker.
#
# It never touches your own store: everything goes into a fresh DEPLOYTOOL_HOME (a temporary directory, named
# when the demo starts), which is removed when it ends, so no deployment, schedule or queued run is left behind.
#
#   ./scripts/demo.sh                                  # a temporary home, removed at the end
#   DEPLOYTOOL_DEMO_HOME=/tmp/demo ./scripts/demo.sh   # this home instead (created if missing), kept to explore:
#                                                      #   DEPLOYTOOL_HOME=/tmp/demo deploytool flow-run ls
set -euo pipefail
export DEPLOYTOOL_SCRIPT=demo.sh
# shellcheck source=_venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

if [[ -n "${DEPLOYTOOL_DEMO_HOME:-}" ]]; then
  mkdir -p "$DEPLOYTOOL_DEMO_HOME"
  DEPLOYTOOL_HOME="$(cd "$DEPLOYTOOL_DEMO_HOME" && pwd)"
  keep=1
else
  DEPLOYTOOL_HOME="$(mktemp -d "${TMPDIR:-/tmp}/deploytool-demo.XXXXXX")"
  keep=0
fi
export DEPLOYTOOL_HOME
unset DEPLOYTOOL_STORE_URL # the demo's store is the SQLite file in its own home, whatever the shell says
say "DEPLOYTOOL_HOME=$DEPLOYTOOL_HOME (the demo's own store; your ~/.deploytool is not touched)"

POOL=process-pool
FILE=examples/prefect.yaml
WORKER_LOG="$DEPLOYTOOL_HOME/demo-worker.log"
worker=""
run() { say "\$ $*"; "$@"; }

finish() {
  local status=$?
  if [[ -n "$worker" ]]; then
    kill -TERM "$worker" 2>/dev/null || true
    wait "$worker" 2>/dev/null || true
  fi
  if ((status != 0)) && [[ -f "$WORKER_LOG" ]]; then
    say "the worker's log:"
    cat "$WORKER_LOG" >&2
  fi
  if ((keep)); then
    say "kept $DEPLOYTOOL_HOME: explore it with DEPLOYTOOL_HOME=$DEPLOYTOOL_HOME deploytool flow-run ls"
  else
    rm -rf -- "$DEPLOYTOOL_HOME"
    say "removed $DEPLOYTOOL_HOME (keep it with DEPLOYTOOL_DEMO_HOME=DIR ./scripts/demo.sh)"
  fi
  exit "$status"
}
trap finish EXIT

run deploytool validate --file "$FILE"
if deploytool work-pool inspect "$POOL" >/dev/null 2>&1; then
  say "work pool $POOL exists"
else
  run deploytool work-pool create "$POOL" --type process
fi
run deploytool deploy --name hello-local --file "$FILE"

say "\$ deploytool worker start --pool $POOL &"
deploytool worker start --pool "$POOL" >"$WORKER_LOG" 2>&1 &
worker=$!

run deploytool run hello/hello-local --param name=demo --watch
run deploytool flow-run ls --limit 5
