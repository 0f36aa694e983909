"""The SQLite connection: file creation, pragmas and write transactions (its schema migrations: sqlite_migrate.py).

Every write runs inside `Database.transaction()`, which starts with `BEGIN IMMEDIATE`: the write lock is
taken up front, so two writers never deadlock upgrading a read lock, and a reader (WAL) never blocks a
writer. A busy lock is waited for (SQLite's busy handler, then our own backoff); only a database still
locked after `LOCK_TIMEOUT` seconds becomes an error, a DeploytoolError with a hint, never sqlite's
"database is locked".
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from deploytool.errors import DeploytoolError, StoreUnavailableError
from deploytool.models import utcnow
from deploytool.store import sqlite_file
from deploytool.store.changes import Topic, Wake
from deploytool.store.sql import Connection, Database, Dialect, LogRow, Row
from deploytool.store.urls import MEMORY

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from deploytool.store.sqlite_watch import FileWatch

SQLITE = Dialect(name="sqlite", insertion_order="rowid", for_update="", skip_locked="")

BUSY_TIMEOUT_MS = 10_000
LOCK_TIMEOUT = 30.0  # total seconds a write waits for the lock before giving up
CHANGE_POLL_SECONDS = 0.1  # how often a waiter without inotify reads `data_version` (a shared-memory read, ~µs)

_LOCK_HINT = (
    "another deploytool process holds the store's write lock; "
    "check for a stuck process, or a store on a network filesystem (NFS/SMB do not support SQLite locking)"
)


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def locked_error(path: str) -> DeploytoolError:
    return StoreUnavailableError(f"the store {path} stayed locked for more than {LOCK_TIMEOUT:.0f}s", hint=_LOCK_HINT)


def connect(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) the SQLite database at `path` with deploytool's pragmas.

    A new file is created with mode 0600 in a directory created with mode 0700, before SQLite opens it, so the
    store is never readable by other users, not even for an instant; an empty file is refused and a readable
    one made private (`sqlite_file`). `":memory:"` gives a private database.
    The connection is in autocommit mode: `Database.transaction()` issues BEGIN/COMMIT itself.
    """
    target = str(path)
    if target != MEMORY:
        file = Path(target).expanduser()
        sqlite_file.prepare(file)
        target = str(file)
    conn = sqlite3.connect(
        target,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,  # a worker's heartbeat thread shares it; Database serialises access
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if target != MEMORY:
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"), target)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and _is_locked(exc):
            raise locked_error(target) from exc
        raise DeploytoolError(
            f"{target} is not a usable deploytool store: {exc}",
            hint="point DEPLOYTOOL_HOME at another directory, or move the file away",
        ) from exc
    return conn


def _retry_locked(action: Callable[[], object], path: str) -> None:
    """Run `action()` again with jittered backoff while SQLite reports the database locked."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    delay = 0.005
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or time.monotonic() >= deadline:
                if _is_locked(exc):
                    raise locked_error(path) from exc
                raise
        import random  # only when the lock is busy: an uncontended command does not load it

        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.25)


class SqliteDatabase(Database):
    """One SQLite connection plus the helpers every repository uses: `transaction()` for writes, `read()` for reads.

    Thread-safe: one re-entrant lock serialises use of the connection within a process. Transactions nest;
    an inner one is a SAVEPOINT, so a failing inner block rolls back only its own writes.
    """

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._seen: OrderedDict[frozenset[Topic], int] = OrderedDict()  # topic set -> data_version it has seen
        self._watches = threading.local()  # each waiting thread's FileWatch
        # Every FileWatch made, closed with the database; weak, so a thread that ends closes its own (a dashboard
        # following runs in many threads must not hold an inotify instance, 128 per user, for each).
        self._opened: weakref.WeakSet[FileWatch] = weakref.WeakSet()

    @property
    def url(self) -> str:
        return self.path

    def now(self) -> datetime:
        # One machine, one clock.
        return utcnow()

    def insert_logs(self, conn: Connection, rows: Sequence[LogRow]) -> int:
        conn.executemany(
            "INSERT INTO logs (run_id, time, level, source, message, line_key) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            rows,
        )
        if any(row[5] is not None for row in rows):  # a skipped line leaves last_insert_rowid() behind
            found = conn.execute("SELECT max(id) FROM logs WHERE run_id = ?", (rows[-1][0],)).fetchone()[0]
            return int(found or 0)
        return int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])

    def lock_pool_for_claim(self, conn: Connection, pool_name: str) -> Row:
        # BEGIN IMMEDIATE already holds the database's write lock: claims take turns.
        return conn.execute("SELECT paused, concurrency_limit FROM work_pools WHERE name = ?", (pool_name,)).fetchone()

    def schema_version(self) -> int:
        with self.read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def change_counter(self) -> int:
        """SQLite's `data_version`: changes when another connection commits (read from shared memory: cheap)."""
        with self.read() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    def wait_for_change(self, topics: Collection[Topic], timeout: float, wake: threading.Event | None) -> bool:
        """Store.wait_for_change by `data_version`: SQLite cannot notify, and its counter moves with any commit of
        another connection, whatever the topics (a True may be spurious). It is read when inotify reports a write
        to the store's files (`sqlite_watch`), else every CHANGE_POLL_SECONDS."""
        key = frozenset(topics)
        deadline = time.monotonic() + max(timeout, 0.0)
        pipe = wake if isinstance(wake, Wake) else None
        watch = self._file_watch() if wake is None or pipe is not None else None  # a plain Event has no pipe: poll
        event = wake if wake is not None else threading.Event()
        while True:
            if self._moved(key):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or event.is_set():
                return False
            if watch is not None and watch.alive:
                watch.wait(remaining, pipe)
            else:
                event.wait(min(CHANGE_POLL_SECONDS, remaining))

    def _moved(self, key: frozenset[Topic]) -> bool:
        """Whether `data_version` moved since the last wait for `key` returned (and remember that it was seen)."""
        counter = self.change_counter()
        with self._lock:
            if self._seen.get(key) == counter:
                return False
            self._seen[key] = counter
            self._seen.move_to_end(key)
            if len(self._seen) > 1000:
                self._seen.popitem(last=False)
            return True

    def _file_watch(self) -> FileWatch | None:
        """This thread's inotify watch on the store's files (made on first use), or None: wait by polling."""
        if self.path == MEMORY:
            return None
        from deploytool.store.sqlite_watch import open_watch  # only a process that waits loads it

        if hasattr(self._watches, "watch"):
            old: FileWatch | None = self._watches.watch
            if old is None or old.alive:  # None: inotify failed in this thread, not tried again at every wait
                return old
            old.close()
        watch = self._watches.watch = open_watch(self.path)
        if watch is not None:
            with self._lock:
                self._opened.add(watch)
        return watch

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE); commits on success, rolls back on any exception."""
        with self._lock:
            if self._depth:
                yield from self._savepoint()
                return
            _retry_locked(lambda: self.conn.execute("BEGIN IMMEDIATE"), self.path)
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                try:
                    _retry_locked(lambda: self.conn.execute("COMMIT"), self.path)
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
            finally:
                self._depth = 0

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        name = f"sp{self._depth}"
        self.conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self.conn
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        else:
            self.conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        # A deferred transaction that only reads: WAL keeps its snapshot while writers go on.
        with self._lock:
            _retry_locked(lambda: self.conn.execute("BEGIN DEFERRED"), self.path)
            try:
                yield self.conn
            finally:
                self.conn.execute("ROLLBACK")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (each statement sees a consistent WAL snapshot)."""
        with self._lock:
            try:
                yield self.conn
            except sqlite3.OperationalError as exc:
                if _is_locked(exc):
                    raise locked_error(self.path) from exc
                raise

    def close(self) -> None:
        with self._lock:
            for watch in list(self._opened):
                watch.close()  # a thread still waiting on it polls from now on
            self.conn.close()
