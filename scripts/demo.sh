#!/usr/bin/env bash
# The README's main-job command, on the embedded default (one SQLite file in $DEPLOYTOOL_HOME, default
# ~/.deploytool): validate the example project, create a process work pool, deploy, start a worker, run a
# deployment, follow its logs to its final state, and stop the worker. Safe to run again.
set -euo pipefail
export DEPLOYTOOL_SCRIPT=demo.sh
# shellcheck source=_venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

POOL=process-pool
FILE=examples/prefect.yaml
run() { say "\$ $*"; "$@"; }

run deploytool validate --file "$FILE"
if deploytool work-pool inspect "$POOL" >/dev/null 2>&1; then
  say "work pool $POOL exists"
else
  run deploytool work-pool create "$POOL" --type process
fi
run deploytool deploy --name hello-local --file "$FILE"

say "\$ deploytool worker start --pool $POOL &"
deploytool worker start --pool "$POOL" >/tmp/deploytool-demo-worker.log 2>&1 &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker" 2>/dev/null || true' EXIT

status=0
run deploytool run hello/hello-local --param name=demo --watch || status=$?
run deploytool flow-run ls --limit 5
say "worker log: /tmp/deploytool-demo-worker.log"
exit "$status"
