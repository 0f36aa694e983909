"""The store: deploytool's only code that touches the database (an SQLite file, or PostgreSQL).

    with Store.open(url_or_path) as store:
        pool = store.pools.get("default")
        with store.transaction():          # several writes, all or none
            for d in deployments:
                store.deployments.upsert(d)

`Store` and the repository protocols (`deploytool.store.api`) are the interface; code outside this package uses
only them. Repositories raise NotFoundError/ConflictError (with hints) and return models, never rows.
"""

from __future__ import annotations

from deploytool.store.api import (
    AUTO_PREFIX,
    ONLINE_WINDOW_SECONDS,
    BlockRepository,
    CrashHook,
    DeploymentRepository,
    FlowRunRepository,
    LogRepository,
    ScheduleRepository,
    Store,
    TaskRunRepository,
    VariableRepository,
    WorkerRepository,
    WorkPoolRepository,
    WorkQueueRepository,
)
from deploytool.store.urls import MEMORY, redact_url

__all__ = [
    "AUTO_PREFIX",
    "MEMORY",
    "ONLINE_WINDOW_SECONDS",
    "BlockRepository",
    "CrashHook",
    "DeploymentRepository",
    "FlowRunRepository",
    "LogRepository",
    "ScheduleRepository",
    "Store",
    "TaskRunRepository",
    "VariableRepository",
    "WorkPoolRepository",
    "WorkQueueRepository",
    "WorkerRepository",
    "redact_url",
]
