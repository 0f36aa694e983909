"""`prefect.task_runners`: ThreadPoolTaskRunner (Prefect 3), and Prefect 2's ConcurrentTaskRunner (a thread
pool too) and SequentialTaskRunner (a pool of one thread: submitted tasks run one at a time)."""

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr
from deploytool.futures import ThreadPoolTaskRunner

ConcurrentTaskRunner = ThreadPoolTaskRunner


class SequentialTaskRunner(ThreadPoolTaskRunner):
    def __init__(self) -> None:
        super().__init__(max_workers=1)

    def duplicate(self) -> "SequentialTaskRunner":
        return SequentialTaskRunner()


__all__ = ["ConcurrentTaskRunner", "SequentialTaskRunner", "ThreadPoolTaskRunner"]


def __getattr__(name: str) -> Any:
    return module_getattr("prefect.task_runners", name)
