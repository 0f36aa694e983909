"""`python tests/worker/worker_main.py worker start ...`: the real CLI with the worker group registered.

The same as `python -m deploytool worker ...` once cli/app.py registers the group (register() is idempotent).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from deploytool.cli import worker_cmds
from deploytool.cli.app import app
from deploytool.cli.entry import main

worker_cmds.register(app)
raise SystemExit(main())
