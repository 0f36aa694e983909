"""Schedules at run time: which runs a deployment's schedules make, and the pass that creates them.

Below core and worker (both call it), above config (the schedule semantics) and store. See
deploytool/scheduling/scheduler.py for what a pass does, and docs/schedules.md for the user's guide.
"""

from __future__ import annotations

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
