"""`prefect.runtime.flow_run`: id, name, parameters and flow_name of the run this job executes (None outside
a job, as in Prefect)."""

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr, run_spec

_FIELDS = {"id": "run_id", "name": "run_name", "flow_name": "flow_name", "parameters": "parameters"}

__all__ = list(_FIELDS)


def __getattr__(name: str) -> Any:
    if name in _FIELDS:
        value = run_spec().get(_FIELDS[name])
        return dict(value or {}) if name == "parameters" else value
    return module_getattr("prefect.runtime.flow_run", name)
