"""`prefect.blocks`: only `prefect.blocks.system.Secret`."""

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr


def __getattr__(name: str) -> Any:
    return module_getattr("prefect.blocks", name)
