"""The store: deploytool's only code that touches the database (SQLite today).

    with Store.open(settings.db_path) as store:
        pool = store.pools.get("default")
        with store.transaction():          # several writes, all or none
            for d in deployments:
                store.deployments.upsert(d)

Repositories raise NotFoundError/ConflictError (with hints) and return models, never rows. Another backend
(e.g. PostgreSQL) would provide the same repositories behind the same `Store` attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType

from deploytool.store.blocks import BlockRepo
from deploytool.store.db import MEMORY, Database, connect, migrate
from deploytool.store.deployments import DeploymentRepo
from deploytool.store.logs import LogRepo
from deploytool.store.pools import WorkPoolRepo
from deploytool.store.queues import WorkQueueRepo
from deploytool.store.runs import FlowRunRepo
from deploytool.store.schedules import ScheduleRepo
from deploytool.store.variables import VariableRepo
from deploytool.store.workers import WorkerRepo

__all__ = ["MEMORY", "Store"]


class Store:
    """An open store: one connection and one repository per entity."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.pools = WorkPoolRepo(db)
        self.queues = WorkQueueRepo(db)
        self.deployments = DeploymentRepo(db)
        self.runs = FlowRunRepo(db)
        self.logs = LogRepo(db)
        self.workers = WorkerRepo(db)
        self.variables = VariableRepo(db)
        self.blocks = BlockRepo(db)
        self.schedules = ScheduleRepo(db)

    @classmethod
    def open(cls, path: Path | str) -> Store:
        """Open (creating and migrating as needed) the store at `path`; `":memory:"` for a private one.

        DeploytoolError if the file is not a deploytool store, stays locked, or comes from a newer version.
        """
        conn = connect(path)
        db = Database(conn, str(path))
        try:
            migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @property
    def path(self) -> str:
        return self._db.path

    def transaction(self) -> AbstractContextManager[None]:
        """Apply every repository write inside the block atomically (nested blocks are savepoints)."""
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._db.transaction():
            yield

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
