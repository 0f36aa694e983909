"""`prefect.runtime.deployment`: name of the deployment this run belongs to, and flow_run_id."""

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr, run_spec

_FIELDS = {"name": "deployment_name", "flow_run_id": "run_id", "parameters": "parameters"}

__all__ = list(_FIELDS)


def __getattr__(name: str) -> Any:
    if name in _FIELDS:
        value = run_spec().get(_FIELDS[name])
        return dict(value or {}) if name == "parameters" else value
    return module_getattr("prefect.runtime.deployment", name)
