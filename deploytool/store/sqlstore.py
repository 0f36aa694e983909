"""`SqlStore`: the `Store` of both SQL backends, the same repositories over a backend's `Database`."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from deploytool.store.api import Store
from deploytool.store.blocks import BlockRepo
from deploytool.store.changes import Topic
from deploytool.store.dashboard import DashboardQueries
from deploytool.store.deployments import DeploymentRepo
from deploytool.store.logs import LogRepo
from deploytool.store.pools import WorkPoolRepo
from deploytool.store.queues import WorkQueueRepo
from deploytool.store.run_delete import DeletableFlowRunRepo
from deploytool.store.schedules import ScheduleRepo
from deploytool.store.sealing import key_source
from deploytool.store.sql import Database
from deploytool.store.task_runs import TaskRunRepo
from deploytool.store.variables import VariableRepo
from deploytool.store.workers import WorkerRepo


class SqlStore(Store):
    """An open SQL store: one `Database` (one connection) and one repository per entity."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.pools = WorkPoolRepo(db)
        self.queues = WorkQueueRepo(db)
        self.deployments = DeploymentRepo(db)
        self.runs = DeletableFlowRunRepo(db)
        self.logs = LogRepo(db)
        self.task_runs = TaskRunRepo(db)
        self.workers = WorkerRepo(db)
        self.variables = VariableRepo(db)
        self.blocks = BlockRepo(db, key_source(db.dialect.name, db.url))
        self.schedules = ScheduleRepo(db)
        self.dashboard = DashboardQueries(db)

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
