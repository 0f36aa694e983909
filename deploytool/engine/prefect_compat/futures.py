"""`prefect.futures`: wait, and the future types of `.submit()` and `.map()`."""

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr
from deploytool.futures import TaskFuture as PrefectFuture
from deploytool.futures import TaskFutureList as PrefectFutureList
from deploytool.futures import wait

__all__ = ["PrefectFuture", "PrefectFutureList", "wait"]


def __getattr__(name: str) -> Any:
    return module_getattr("prefect.futures", name)
