#!/usr/bin/env bash
# The project's test command: lint, format check, types, import contracts, then the test suite.
#
#   ./scripts/test.sh                       # everything
#   ./scripts/test.sh -k registry -x        # extra arguments go to pytest
#   DEPLOYTOOL_SKIP_LINT=1 ./scripts/test.sh tests/test_x.py   # pytest only
#
# Stops at the first failing step and names it. Works from any directory.
set -euo pipefail
export DEPLOYTOOL_SCRIPT=test.sh
# shellcheck source=_venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

# Lint only the top-level folders that exist (git does not keep empty ones).
paths=()
for p in deploytool tests benchmarks; do [[ -d "$p" ]] && paths+=("$p"); done

step() {
  local name="$1" start=$SECONDS rc=0
  shift
  say "== $name: $*"
  "$@" || rc=$?
  if [[ $rc -ne 0 ]]; then
    if [[ "$name" == pytest && $rc -eq 5 ]]; then
      say "FAILED: pytest collected no tests (exit 5); a test run that ran nothing is not a pass"
    else
      say "FAILED: step '$name' (exit $rc) after $((SECONDS - start)) s"
    fi
    exit "$rc"
  fi
  say "ok: $name ($((SECONDS - start)) s)"
}

if [[ -z "${DEPLOYTOOL_SKIP_LINT:-}" ]]; then
  step "ruff check" ruff check "${paths[@]}"
  step "ruff format" ruff format --check "${paths[@]}"
  step "mypy" mypy
  step "import contracts" lint-imports
fi

pytest_args=(-n auto)
[[ "${CI:-}" == "true" ]] && pytest_args+=(--durations=15)
step pytest python -m pytest "${pytest_args[@]}" "$@"
say "all steps passed"
