# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/demo.sh: go to the repository root and make sure .venv holds
# deploytool (editable) with its dev extras. A stamp with pyproject.toml's hash makes the second call instant.
#
#   PYTHON=python3.11 ./scripts/test.sh      # pick the interpreter that creates .venv (default: python3)
#   DEPLOYTOOL_REINSTALL=1 ./scripts/test.sh # force the pip install

ts() { date -u +%H:%M:%S; }
say() { printf '%s [%s] %s\n' "$(ts)" "${DEPLOYTOOL_SCRIPT:-scripts}" "$*" >&2; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1

VENV="$REPO_ROOT/.venv"
VENV_BIN="$VENV/bin"

ensure_venv() {
  local py="${PYTHON:-python3}" stamp="$VENV/.deploytool-install-stamp" want have=""
  if [[ ! -x "$VENV_BIN/python" ]]; then
    command -v "$py" >/dev/null || { say "ERROR: $py not found; set PYTHON=/path/to/python3.11"; return 1; }
    say "creating $VENV with $("$py" --version 2>&1)"
    "$py" -m venv "$VENV" || { say "ERROR: '$py -m venv $VENV' failed"; return 1; }
  fi
  # What the install depends on: the project's metadata and the venv's interpreter.
  want="$({ cat pyproject.toml; "$VENV_BIN/python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
  [[ -f "$stamp" ]] && have="$(cat "$stamp")"
  if [[ "$want" == "$have" && -x "$VENV_BIN/deploytool" && -z "${DEPLOYTOOL_REINSTALL:-}" ]]; then
    return 0
  fi
  say "pip install -e '.[dev]' into $VENV (pyproject.toml changed or first run)"
  "$VENV_BIN/python" -m pip install --disable-pip-version-check -q -e '.[dev]' \
    || { say "ERROR: pip install -e '.[dev]' failed"; return 1; }
  echo "$want" >"$stamp"
}

ensure_venv || exit 1
export PATH="$VENV_BIN:$PATH"
