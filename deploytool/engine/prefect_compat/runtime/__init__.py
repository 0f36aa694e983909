"""`prefect.runtime`: flow_run (id, name, parameters, flow_name) and deployment (name, flow_run_id)."""

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr
from deploytool.engine.prefect_compat.runtime import deployment, flow_run

__all__ = ["deployment", "flow_run"]


def __getattr__(name: str) -> Any:
    return module_getattr("prefect.runtime", name)
