"""`SqlStore`: the `Store` of both SQL backends, the same repositories over a backend's `Database`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from deploytool.store.api import Store
from deploytool.store.changes import Topic
from deploytool.store.sql import Database
from deploytool.typeforms import Generic, TypeVar, overload

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from deploytool.store.api import (
        BlockRepository,
        DeploymentRepository,
        FlowRunRepository,
        LogRepository,
        ScheduleRepository,
        TaskRunRepository,
        VariableRepository,
        WorkerRepository,
        WorkPoolRepository,
        WorkQueueRepository,
    )
    from deploytool.store.dashboard_api import DashboardRepository


R = TypeVar("R")


class _Repository(Generic[R]):
    """A store's repository, made from its database on first use (then kept in the instance)."""

    def __init__(self, make: Callable[[Database], R]) -> None:
        self._make = make
        self._name = make.__name__

    @overload
    def __get__(self, store: None, owner: type) -> _Repository[R]: ...
    @overload
    def __get__(self, store: SqlStore, owner: type) -> R: ...
    def __get__(self, store: SqlStore | None, owner: type) -> _Repository[R] | R:
        if store is None:
            return self
        made: R | None = store.__dict__.get(self._name)
        if made is None:
            made = store.__dict__[self._name] = self._make(store._db)
        return made

    def __set__(self, store: SqlStore, value: R) -> None:
        store.__dict__[self._name] = value


def _repository(make: Callable[[Database], R]) -> _Repository[R]:
    return _Repository(make)


class SqlStore(Store):
    """An open SQL store: one `Database` (one connection) and one repository per entity.

    Each repository (and its module) is made on first use: a command that lists pools does not load the code of
    blocks, logs or the dashboard, nor the secret key's (issue 17, item 4).
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @_repository
    def pools(db: Database) -> WorkPoolRepository:
        from deploytool.store.pools import WorkPoolRepo

        return WorkPoolRepo(db)

    @_repository
    def queues(db: Database) -> WorkQueueRepository:
        from deploytool.store.queues import WorkQueueRepo

        return WorkQueueRepo(db)

    @_repository
    def deployments(db: Database) -> DeploymentRepository:
        from deploytool.store.deployments import DeploymentRepo

        return DeploymentRepo(db)

    @_repository
    def runs(db: Database) -> FlowRunRepository:
        from deploytool.store.run_delete import DeletableFlowRunRepo

        return DeletableFlowRunRepo(db)

    @_repository
    def logs(db: Database) -> LogRepository:
        from deploytool.store.logs import LogRepo

        return LogRepo(db)

    @_repository
    def task_runs(db: Database) -> TaskRunRepository:
        from deploytool.store.task_runs import TaskRunRepo

        return TaskRunRepo(db)

    @_repository
    def workers(db: Database) -> WorkerRepository:
        from deploytool.store.workers import WorkerRepo

        return WorkerRepo(db)

    @_repository
    def variables(db: Database) -> VariableRepository:
        from deploytool.store.variables import VariableRepo

        return VariableRepo(db)

    @_repository
    def blocks(db: Database) -> BlockRepository:
        from deploytool.store.blocks import BlockRepo
        from deploytool.store.sealing import key_source

        return BlockRepo(db, key_source(db.dialect.name, db.url))

    @_repository
    def schedules(db: Database) -> ScheduleRepository:
        from deploytool.store.schedules import ScheduleRepo

        return ScheduleRepo(db)

    @_repository
    def dashboard(db: Database) -> DashboardRepository:
        from deploytool.store.dashboard import DashboardQueries

        return DashboardQueries(db)

    @property
    def backend(self) -> str:
        return self._db.dialect.name

    @property
    def url(self) -> str:
        return self._db.url

    @property
    def database(self) -> Database:
        """The backend's database (for `store copy` and the backends' own tests)."""
        return self._db

    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._db.transaction():
            yield

    def now(self) -> datetime:
        return self._db.now()

    def schema_version(self) -> int:
        return self._db.schema_version()

    def wait_for_change(
        self, topics: Collection[Topic], timeout: float, *, wake: threading.Event | None = None
    ) -> bool:
        return self._db.wait_for_change(topics, timeout, wake)

    def table_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._db.read() as conn:
            for table in self._db.tables():
                counts[table] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        return counts

    def close(self) -> None:
        self._db.close()
