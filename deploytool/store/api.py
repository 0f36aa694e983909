"""The store's contract: one typed protocol per repository, and `Store`, the abstract store that holds them.

Everything outside `deploytool.store` is written against these types only. A backend (SQLite in
`store/sqlite.py`, PostgreSQL in `store/postgres.py`) provides a `Store` subclass whose attributes implement the
protocols; `tests/store/test_contract.py` runs the same tests against every backend. Rules every backend keeps:

- methods return models (`deploytool.models`), never rows; they raise NotFoundError / ConflictError with hints;
- every write is atomic; `Store.transaction()` groups several writes, all or none (nested blocks are savepoints);
- times passed in must be timezone-aware (ValueError otherwise); times decided by the store (`Store.now()`) come
  from the database's clock, so machines sharing a store agree on leases and lateness.

This module imports no database driver: `import deploytool.store` stays light, and `Store.open` loads the
backend that a URL names.
"""

from __future__ import annotations

import builtins
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from threading import Event
from types import TracebackType

from deploytool.models import (
    Deployment,
    FlowRun,
    LogLine,
    PoolStatus,
    RunCounts,
    RunState,
    TaskRun,
    Variable,
    WorkerHeartbeat,
    WorkPool,
    WorkQueue,
)
from deploytool.store.blocks_api import BlockRepository as BlockRepository
from deploytool.store.changes import Topic
from deploytool.store.dashboard_api import DashboardRepository
from deploytool.typeforms import Protocol

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

# The idempotency key of an auto-scheduled run starts with this: `scheduled:<deployment id>:<schedule id>:<time>`.
AUTO_PREFIX = "scheduled:"

# A worker is offline once its last heartbeat is older than this: 3 missed heartbeats of 30 s, as Prefect (it is
# stale, and its pool NOT_READY, sooner: deploytool.store.worker_status). $DEPLOYTOOL_WORKER_ONLINE_SECONDS changes
# it (read when this module is imported, i.e. once per command).
ONLINE_WINDOW_ENV = "DEPLOYTOOL_WORKER_ONLINE_SECONDS"


def _online_window(default: float = 90.0) -> float:
    text = os.environ.get(ONLINE_WINDOW_ENV, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value > 0 else default


ONLINE_WINDOW_SECONDS = _online_window()

# Decides whether a run that has just become CRASHED is queued again: (the crashed run, its previous state) ->
# (when it is due, the state message), or None to leave it CRASHED. deploytool.crashretry.plan makes these.
CrashHook = Callable[[FlowRun, RunState], "tuple[datetime, str] | None"]


class WorkPoolRepository(Protocol):
    """Work pools. Creating a pool creates its `default` queue (priority 1)."""

    def create(self, pool: WorkPool, *, overwrite: bool = False) -> WorkPool:
        """Store a new pool. ConflictError if the name is taken, unless `overwrite` (queues are kept)."""

    def get(self, name: str) -> WorkPool:
        """The pool called `name`; NotFoundError if there is none."""

    def list(self) -> builtins.list[WorkPool]:
        """All pools, by name."""

    def update(
        self,
        name: str,
        *,
        base_job_template: dict[str, Any] = ...,
        concurrency_limit: int | None = ...,
        paused: bool = ...,
        description: str | None = ...,
    ) -> WorkPool:
        """Change the given fields only (pass `concurrency_limit=None` to remove the limit)."""

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a pool with its queues and worker records (see the SQL implementation for `force`)."""


class WorkQueueRepository(Protocol):
    """Queues of a pool, served by priority (lower first). Every pool has an undeletable `default` queue."""

    def create(
        self, pool_name: str, name: str, *, priority: int | None = None, concurrency_limit: int | None = None
    ) -> WorkQueue: ...

    def get(self, pool_name: str, name: str) -> WorkQueue: ...

    def list(self, pool_name: str | None = None) -> builtins.list[WorkQueue]: ...

    def update(
        self,
        pool_name: str,
        name: str,
        *,
        priority: int = ...,
        concurrency_limit: int | None = ...,
        paused: bool = ...,
    ) -> WorkQueue: ...

    def delete(self, pool_name: str, name: str) -> None: ...


class DeploymentRepository(Protocol):
    """Deployments, unique by (flow name with `_` and `-` alike, deployment name)."""

    def get(self, deployment_id: str) -> Deployment: ...

    def get_by_name(self, flow_name: str, name: str) -> Deployment: ...

    def list(self, pool_name: str | None = None) -> builtins.list[Deployment]: ...

    def list_by_source(self, source_file: str) -> builtins.list[Deployment]: ...

    def upsert(self, deployment: Deployment) -> tuple[Deployment, bool]:
        """Create or replace by (flow name, name); (stored, created). Keeps the stored id and `created`."""

    def set_paused(self, deployment_id: str, paused: bool) -> Deployment: ...

    def delete(self, deployment_id: str) -> int:
        """Delete it and its SCHEDULED runs (how many); claimed and finished runs stay as history."""


class FlowRunRepository(Protocol):
    """Flow runs: idempotent creation, listing, checked state transitions, atomic claims and leases."""

    def create(self, run: FlowRun) -> FlowRun: ...

    def insert_many(self, runs: Iterable[FlowRun], *, batch: int = 10_000) -> int: ...

    def delete(self, run_id: str, states: Collection[RunState]) -> bool:
        """Delete the run, with its logs and task runs, if it is in one of `states`; whether it was deleted."""

    def get(self, run_id: str) -> FlowRun: ...

    def find(self, ref: str, limit: int = 6) -> builtins.list[FlowRun]: ...

    def list(
        self,
        *,
        state: RunState | Iterable[RunState] | None = None,
        deployment_id: str | None = None,
        pool_name: str | None = None,
        limit: int = 50,
    ) -> builtins.list[FlowRun]: ...

    def counts(self) -> dict[str, RunCounts]: ...

    def set_state(
        self,
        run_id: str,
        new_state: RunState,
        message: str | None = None,
        *,
        now: datetime | None = None,
        retry: bool = False,
        expect_worker: str | None = None,
        expect_attempt: int | None = None,
        **fields: Any,
    ) -> FlowRun: ...  # with expect_worker (and expect_attempt): only while that worker holds the run

    def retry(
        self,
        run_id: str,
        message: str,
        *,
        now: datetime | None = None,
        scheduled_time: datetime | None = None,
        expect_attempt: int | None = None,
    ) -> FlowRun: ...

    def claim_next(
        self,
        pool_name: str,
        queue_names: Sequence[str] | None,
        worker_name: str,
        lease_seconds: float,
        now: datetime,
    ) -> FlowRun | None:
        """Atomically move the best eligible run of the pool to PENDING for `worker_name`; None if none.

        Two claimers (threads, processes, hosts) never get the same run, and pool, queue and deployment
        concurrency limits hold however many claim at once.
        """

    def renew_leases(
        self, worker_name: str, lease_seconds: float, now: datetime, pool_name: str | None = None
    ) -> int: ...

    def set_infrastructure_id(self, run_id: str, worker_name: str, infrastructure_id: str) -> bool:
        """Record the id of the run's job (a pid, a container id) while `worker_name` holds the active run;
        False when it does not (any more)."""

    def recover_expired(
        self, now: datetime, on_crash: CrashHook | None = None
    ) -> builtins.list[tuple[FlowRun, RunState]]: ...


class LogRepository(Protocol):
    """Log lines of flow runs, numbered by an increasing id."""

    def append(self, run_id: str, lines: Sequence[LogLine], *, keys: Sequence[str] | None = None) -> int:
        """Insert the lines in one batch (their `run_id` and `id` are ignored); return the last id. With `keys`
        (one per line), a line whose key the run already has is skipped: sending a batch again stores it once."""

    def read(self, run_id: str, after_id: int | None = None, limit: int = 1000) -> builtins.list[LogLine]: ...


class TaskRunRepository(Protocol):
    """Task runs of flow runs, keyed by the engine's id; a later report of a task run replaces the earlier."""

    def record(self, task_runs: Sequence[TaskRun]) -> None:
        """Insert or update the task runs in one transaction (their flow runs must exist)."""

    def list(self, flow_run_id: str) -> builtins.list[TaskRun]:
        """The task runs of a flow run, in the order they started."""


class WorkerRepository(Protocol):
    """Workers as seen through their heartbeats, unique by (pool name, worker name)."""

    def heartbeat(
        self,
        name: str,
        pool_name: str,
        host: str,
        pid: int,
        now: datetime,
        problem: str | None = None,  # why the worker cannot take runs now (None: it can)
        lease_seconds: float | None = None,  # how long this heartbeat counts (None: a default lease)
    ) -> WorkerHeartbeat: ...

    def list(self, pool_name: str | None = None) -> builtins.list[WorkerHeartbeat]: ...

    def delete(self, pool_name: str, name: str) -> None: ...

    def delete_stale(self, before: datetime) -> int: ...

    def pool_status(self, pool_name: str, now: datetime) -> PoolStatus: ...  # deploytool.store.worker_status's rule


class VariableRepository(Protocol):
    """Name -> JSON value."""

    def set(self, name: str, value: Any) -> Variable: ...

    def get(self, name: str) -> Variable: ...

    def list(self) -> builtins.list[Variable]: ...

    def delete(self, name: str) -> None: ...


class ScheduleRepository(Protocol):
    """Schedule marks and the auto-scheduled runs of a deployment."""

    def marks(self, deployment_id: str) -> dict[str, datetime]: ...

    def set_mark(self, deployment_id: str, schedule_id: str, until: datetime) -> None: ...

    def clear_marks(self, deployment_id: str, keep: Collection[str] = ()) -> int: ...

    def waiting_runs(self, deployment_id: str) -> builtins.list[FlowRun]: ...

    def existing_keys(self, keys: Iterable[str]) -> set[str]: ...

    def delete_waiting(self, run_ids: Collection[str]) -> int: ...


def _no_opener(target: Path | str) -> Store:
    raise RuntimeError("deploytool.store was not imported")  # importing this module imports the package first


_opener: Callable[[Path | str], Store] = _no_opener


def set_opener(opener: Callable[[Path | str], Store]) -> None:
    """Called once by `deploytool/store/__init__.py`: what `Store.open` calls (store.opening.open_store)."""
    global _opener
    _opener = opener


class Store(ABC):
    """An open store: one connection and one repository per entity.

    with Store.open(url_or_path) as store:
        pool = store.pools.get("default")
        with store.transaction():          # several writes, all or none
            for d in deployments:
                store.deployments.upsert(d)
    """

    pools: WorkPoolRepository
    queues: WorkQueueRepository
    deployments: DeploymentRepository
    runs: FlowRunRepository
    logs: LogRepository
    task_runs: TaskRunRepository
    workers: WorkerRepository
    variables: VariableRepository
    blocks: BlockRepository
    schedules: ScheduleRepository
    dashboard: DashboardRepository

    @classmethod
    def open(cls, target: Path | str) -> Store:
        """Open the store that `target` names: a path or `sqlite:///path` (created and migrated as needed),
        `":memory:"`, or `postgresql://user@host:port/db` (its schema must be current: `deploytool store
        migrate`). DeploytoolError with a hint for a wrong scheme, an unreachable or foreign database, or a
        schema newer than this deploytool knows.
        """
        return _opener(target)

    @property
    @abstractmethod
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""

    @property
    @abstractmethod
    def url(self) -> str:
        """Where the store is, with any password replaced by `***` (safe to print)."""

    @property
    def path(self) -> str:
        """The SQLite file (or the redacted URL of a server store)."""
        return self.url

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Apply every repository write inside the block atomically (nested blocks are savepoints)."""

    @abstractmethod
    def now(self) -> datetime:
        """The store's clock (the database server's for a shared store): what leases and lateness are judged by."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version the store is at."""

    @abstractmethod
    def wait_for_change(self, topics: Collection[Topic], timeout: float, *, wake: Event | None = None) -> bool:
        """Wait up to `timeout` s (or until `wake` is set) for a change to one of `topics` committed by anyone:
        True to look now, False on timeout (store/changes.py holds the contract; docs/stores.md the costs)."""

    @abstractmethod
    def table_counts(self) -> dict[str, int]:
        """Rows per table (pools, queues, deployments, runs, logs, ...), for `deploytool store info`."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
