"""`prefect.logging`: get_run_logger (the run's logger: its records are the run's log lines)."""

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr
from deploytool.runcontext import get_run_logger

__all__ = ["get_run_logger"]


def __getattr__(name: str) -> Any:
    return module_getattr("prefect.logging", name)
