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

from collections.abc import Callable

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
    set_opener,
)
from deploytool.store.changes import Topic, Wake
from deploytool.store.opening import grant_role, latest_version, migrate_store, open_store, roles_with_grants
from deploytool.store.urls import MEMORY, backend_of, redact_url, redact_urls
from deploytool.store.worker_status import (
    STALE_AFTER_SECONDS,
    cannot_take_runs,
    pool_readiness,
    process_alive,
    stale_after,
    worker_status,
)

set_opener(open_store)

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from deploytool.secretbox import KeySource
    from deploytool.store.copy import CopyResult


def key_source(backend: str, url: str) -> KeySource:
    """Where the store's secret key comes from (`deploytool.store.sealing`, loaded with the key's code on use)."""
    from deploytool.store.sealing import key_source as source

    return source(backend, url)


def copy_store(
    source: Store, target: Store, *, replace: bool = False, progress: Callable[[str, int], None] | None = None
) -> CopyResult:
    """Copy everything in `source` into `target` in one transaction (`deploytool.store.copy`)."""
    from deploytool.store.copy import copy_store as copy

    return copy(source, target, replace=replace, progress=progress)


__all__ = [
    "AUTO_PREFIX",
    "MEMORY",
    "ONLINE_WINDOW_SECONDS",
    "STALE_AFTER_SECONDS",
    "BlockRepository",
    "CrashHook",
    "DeploymentRepository",
    "FlowRunRepository",
    "LogRepository",
    "ScheduleRepository",
    "Store",
    "TaskRunRepository",
    "Topic",
    "VariableRepository",
    "Wake",
    "WorkPoolRepository",
    "WorkQueueRepository",
    "WorkerRepository",
    "backend_of",
    "cannot_take_runs",
    "copy_store",
    "grant_role",
    "key_source",
    "latest_version",
    "migrate_store",
    "pool_readiness",
    "process_alive",
    "redact_url",
    "redact_urls",
    "roles_with_grants",
    "stale_after",
    "worker_status",
]
