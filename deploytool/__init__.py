"""deploytool: declarative deployments and workers for Python flows.

`import deploytool` stays light: the flow API is loaded on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every command a few ms
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__"]


_LAZY = {
    **dict.fromkeys(("flow", "Flow", "get_run_logger", "DockerImage"), "deploytool.flows"),
    **dict.fromkeys(("task", "Task", "unmapped", "wait", "tags", "ThreadPoolTaskRunner"), "deploytool.tasks"),
}


def __getattr__(name: str) -> Any:
    # The user-facing flow API (`from deploytool import flow`) lives in deploytool.flows and is imported
    # only when asked for, so that the CLI and the engine do not pay for it.
    module = _LAZY.get(name)
    if module is not None:
        # Imported by name, not statically: every module that reads deploytool.__version__ imports this package,
        # and must not thereby depend on the flow API (and what Flow.deploy uses) in the import graph.
        import importlib

        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'deploytool' has no attribute {name!r}")
