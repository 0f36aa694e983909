"""What the SQL repositories need from a database backend: connections, transactions, a dialect, a clock.

The repositories (`pools.py`, `runs.py`, ...) hold the store's SQL once, written in the subset that SQLite and
PostgreSQL share (`?` placeholders, `INSERT ... ON CONFLICT`, `count(*)`, `coalesce`). What differs lives in a
`Database` subclass: SQLite in `db.py`, PostgreSQL in `postgres.py`. No module outside these two sees a driver's
connection; the repositories see the `Connection` protocol below.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from deploytool.records import record
from deploytool.store.changes import Topic
from deploytool.typeforms import Any, Protocol

# The tables that hold the store's data, parents before children (foreign keys). Bookkeeping tables (the
# schema's version) are not in it.
DATA_TABLES = (
    "work_pools", "work_queues", "deployments", "schedule_marks", "flow_runs", "logs", "task_runs", "workers",
    "variables", "blocks",
)  # fmt: skip

# A log line as inserted: (run_id, time, level, source, message, line_key or None).
LogRow = tuple[str, str, str, str, str, str | None]

# A row supports both `row["column"]` and `row[0]` (sqlite3.Row, and postgres.py's row factory).
Row = Any


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Row: ...

    def fetchall(self) -> list[Row]: ...

    def __iter__(self) -> Iterator[Row]: ...


class Connection(Protocol):
    """A connection inside a transaction (or a read): statements with `?` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


@record
class Dialect:
    """The few SQL fragments that differ between backends."""

    name: str
    # The column that orders rows of one table by insertion (ties in `created`): SQLite's rowid, a sequence.
    insertion_order: str
    # Appended to a SELECT whose rows the transaction will update, so a concurrent writer waits (SQLite's
    # BEGIN IMMEDIATE already serialises writers: empty there).
    for_update: str
    # Appended to the claim's candidate SELECT: skip rows another transaction holds.
    skip_locked: str
    # Run first in a write transaction that must not interleave with another writer of `{table}` (block secrets
    # and their key); empty where writers take turns anyway (SQLite).
    lock_table: str = ""


class Database(ABC):
    """One connection of one process to one store, shared by the repositories.

    Thread-safe: the connection is used by one thread at a time. `transaction()` nests (savepoints).
    """

    dialect: Dialect

    @property
    @abstractmethod
    def url(self) -> str:
        """Where the database is, redacted (no password)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction: commits on success, rolls back on any exception."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Connection]:
        """The connection for reads (each statement sees committed data)."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[Connection]:
        """A read-only transaction: every statement inside sees the same committed state (for copies)."""

    @abstractmethod
    def now(self) -> datetime:
        """The database's clock, as an aware UTC datetime."""

    @abstractmethod
    def insert_logs(self, conn: Connection, rows: Sequence[LogRow]) -> int:
        """Insert (run_id, time, level, source, message, line_key) rows in one batch, skipping a row whose
        (run_id, line_key) is stored already; the run's last log id."""

    @abstractmethod
    def lock_pool_for_claim(self, conn: Connection, pool_name: str) -> Row:
        """Inside the claim's transaction: the pool's (paused, concurrency_limit) row, locked so that claims of
        one pool take turns while they count slots. None if the pool does not exist."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def wait_for_change(self, topics: Collection[Topic], timeout: float, wake: threading.Event | None) -> bool:
        """See Store.wait_for_change."""

    def tables(self) -> list[str]:
        """The store's data tables, parents before children (for counts and copies)."""
        return list(DATA_TABLES)

    @abstractmethod
    def close(self) -> None: ...
