"""`prefect.variables`: Variable.get(name, default=None), read from the values the worker passed to the job
(every stored variable: `deploytool variable set`)."""

from __future__ import annotations

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr, run_spec, unsupported

_MISSING = object()


class Variable:
    """Prefect 3's Variable: `Variable.get("name", default=...)` returns the value."""

    @classmethod
    def get(cls, name: str, default: Any = None) -> Any:
        values = run_spec().get("variables") or {}
        return values.get(name, default)

    @classmethod
    def set(cls, name: str, value: Any, overwrite: bool = False) -> Any:
        raise unsupported("prefect.variables.Variable.set", "a job cannot write to deploytool's store")

    @classmethod
    def unset(cls, name: str) -> Any:
        raise unsupported("prefect.variables.Variable.unset", "a job cannot write to deploytool's store")


__all__ = ["Variable"]


def __getattr__(name: str) -> Any:
    return module_getattr("prefect.variables", name)
