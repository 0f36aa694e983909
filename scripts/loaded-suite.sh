#!/usr/bin/env bash
# The suite under load (issue 11 item 6): the whole test suite N times in a row while one busy loop per core
# (at nice 19) keeps every core busy, as on a shared CI machine. Not part of CI: it takes N x 8-15 minutes.
#
#   ./scripts/loaded-suite.sh               # three runs
#   ./scripts/loaded-suite.sh 1 -k store    # one run; extra arguments go to pytest
#
# Prints one line per run (start, main's commit, pytest's summary, seconds) and exits non-zero if any run
# failed. The pytest output of run K is kept in .loaded-suite/run-K.log (git-ignored).
set -euo pipefail
export DEPLOYTOOL_SCRIPT=loaded-suite.sh
# shellcheck source=_venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

runs="${1:-3}"
shift || true
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { say "the first argument is the number of runs (got '$runs')"; exit 2; }

busy=()
stop_busy() { [[ ${#busy[@]} -gt 0 ]] && kill "${busy[@]}" 2>/dev/null || true; }
trap stop_busy EXIT
for _ in $(seq "$(nproc)"); do
  nice -n 19 python3 -c 'while True: pass' &
  busy+=("$!")
done
say "${#busy[@]} busy loops at nice 19 (PIDs ${busy[*]}); $runs run(s) of the suite"

mkdir -p .loaded-suite
failed=0
for k in $(seq "$runs"); do
  log=".loaded-suite/run-$k.log"
  start=$SECONDS
  when="$(date -u '+%Y-%m-%d %H:%M')"
  rc=0
  python -m pytest -n 2 -q -p no:cacheprovider "$@" >"$log" 2>&1 || rc=$?
  summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed)|(passed|failed|error).* in [0-9.]+s' "$log" | tail -n1 | tr -d '=' || true)"
  printf '%s UTC  %s  run %s: %s (%s s, load average %s)\n' "$when" "$(git rev-parse --short HEAD)" "$k" \
    "${summary:-no summary, see $log}" "$((SECONDS - start))" "$(cut -d' ' -f1-3 /proc/loadavg)"
  [[ $rc -eq 0 ]] || { failed=1; grep -E '^(FAILED|ERROR) ' "$log" || true; }
done
exit "$failed"
