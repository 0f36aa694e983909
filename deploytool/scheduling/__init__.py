"""Schedules at run time: which runs a deployment's schedules make, and the pass that creates them.

Below core and worker (both call it), above config (the schedule semantics) and store. See
deploytool/scheduling/scheduler.py for what a pass does, and docs/schedules.md for the user's guide.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: `deployment ls` imports this package for the next run of each deployment
if TYPE_CHECKING:
    from typing import Any

    from deploytool.scheduling.identity import (
        CATCH_UP_POLICIES,
        DEFAULT_CATCH_UP,
        LiveSchedule,
        key_schedule,
        live_schedules,
        next_run_time,
        run_key,
        schedule_id,
        schedule_items,
    )
    from deploytool.scheduling.scheduler import (
        SCHEDULE_EVERY_SECONDS,
        Horizon,
        PassReport,
        prune,
        schedule_deployment,
        schedule_runs,
    )

# Loaded on first use: the next run of a deployment (`deployment ls`) needs identity.py, not the pass (scheduler.py,
# with logging and the parameter check) (issue 17, item 4).
_MODULES = {
    **dict.fromkeys(
        ("CATCH_UP_POLICIES", "DEFAULT_CATCH_UP", "LiveSchedule", "key_schedule", "live_schedules", "next_run_time"),
        "deploytool.scheduling.identity",
    ),
    **dict.fromkeys(("run_key", "schedule_id", "schedule_items"), "deploytool.scheduling.identity"),
    **dict.fromkeys(
        ("SCHEDULE_EVERY_SECONDS", "Horizon", "PassReport", "prune", "schedule_deployment", "schedule_runs"),
        "deploytool.scheduling.scheduler",
    ),
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value
    return value


__all__ = [
    "CATCH_UP_POLICIES",
    "DEFAULT_CATCH_UP",
    "SCHEDULE_EVERY_SECONDS",
    "Horizon",
    "LiveSchedule",
    "PassReport",
    "key_schedule",
    "live_schedules",
    "next_run_time",
    "prune",
    "run_key",
    "schedule_deployment",
    "schedule_id",
    "schedule_items",
    "schedule_runs",
]
