"""`prefect` inside a job where the prefect package is not installed: deploytool's compatibility layer.

The engine's import hook (deploytool.engine.compat) serves `prefect` and `prefect.<module>` from this package,
for that job process only. It covers what flow code commonly uses, on deploytool's own flow and task API;
anything else raises PrefectCompatError (an ImportError) naming the Prefect API and docs/prefect-compat.md.
"""

from __future__ import annotations

from typing import Any

from deploytool.engine.prefect_compat._support import announce, module_getattr
from deploytool.engine.prefect_compat.decorators import flow, task
from deploytool.futures import wait
from deploytool.runcontext import get_run_logger
from deploytool.tasks import tags, unmapped

announce()

__version__ = "3.0.0+deploytool.compat"

__all__ = ["flow", "get_run_logger", "tags", "task", "unmapped", "wait"]


def __getattr__(name: str) -> Any:
    return module_getattr("prefect", name)
