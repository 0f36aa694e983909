#!/usr/bin/env bash
# The README's main-job command (placeholder: the lead extends it). Same .venv setup as scripts/test.sh.
set -euo pipefail
export DEPLOYTOOL_SCRIPT=demo.sh
# shellcheck source=_venv.sh
. "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

say "deploytool validate --file examples/prefect.yaml"
deploytool validate --file examples/prefect.yaml
