"""Shared by the modules of the Prefect compatibility layer: the error for what it does not cover, the run's
values (from the run spec), and the one-time note in the run's log."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import threading
from typing import Any

DOCS = "docs/prefect-compat.md"
COMPAT_ENV = "DEPLOYTOOL_PREFECT_COMPAT"
"""`auto` (default): the layer serves `import prefect` when the prefect package is not installed in the job;
`always`: it serves it even when prefect is installed; `never`: it is off."""


class PrefectCompatError(ImportError):
    """A Prefect API that deploytool's compatibility layer does not provide."""


def unsupported(api: str, why: str | None = None) -> PrefectCompatError:
    """The error for a Prefect API outside the layer, naming it and pointing at the table of what is covered."""
    reason = f" ({why})" if why else ""
    return PrefectCompatError(
        f"{api} is not provided by deploytool's Prefect compatibility layer{reason}: the prefect package is not"
        f" installed in this job, and deploytool covers the common API only; see {DOCS} for what is supported,"
        " and for installing prefect in the job instead"
    )


def module_getattr(module: str, name: str) -> Any:
    """`__getattr__` of a compat module: a submodule the layer has is imported (`from prefect import runtime`),
    dunder lookups are ordinary AttributeErrors, anything else names the Prefect API."""
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    own = "deploytool.engine.prefect_compat" + module[len("prefect") :] + "." + name
    if importlib.util.find_spec(own) is not None:
        return importlib.import_module(f"{module}.{name}")
    raise unsupported(f"{module}.{name}")


_spec_cache: dict[str, Any] | None = None
_lock = threading.Lock()


def run_spec() -> dict[str, Any]:
    """The run spec of this job as JSON data ({} outside a job): run id and name, parameters, variables..."""
    global _spec_cache
    with _lock:
        if _spec_cache is None:
            try:
                data = json.loads(os.environ.get("DEPLOYTOOL_RUN_SPEC") or "{}")
            except ValueError:
                data = {}
            _spec_cache = data if isinstance(data, dict) else {}
        return _spec_cache


_announced = False


def announce() -> None:
    """Say once in the run's log that flow code's `prefect` is this layer."""
    global _announced
    with _lock:
        if _announced:
            return
        _announced = True
    logging.getLogger("deploytool.engine").info(
        "'import prefect' is served by deploytool's Prefect compatibility layer in this job (see %s)",
        DOCS,
    )
