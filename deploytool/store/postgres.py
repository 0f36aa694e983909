"""The PostgreSQL backend: the same SQL repositories over one psycopg 3 connection per process.

- **Transactions** are explicit (autocommit connection, BEGIN/COMMIT, savepoints when nested), short, and never
  held across a flow run. Reads outside a transaction are single statements (each sees committed data).
- **Concurrency.** PostgreSQL writers do not take turns as SQLite's do, so the repositories lock what they
  read-then-write: a run's row `FOR UPDATE` for a state change; the claim's candidate `FOR UPDATE SKIP LOCKED`;
  `INSERT ... ON CONFLICT` for idempotent inserts. Concurrency limits need one lock that all claimers of a pool
  share: see `lock_pool_for_claim`.
- **Clock.** `now()` is the server's `clock_timestamp()`: workers on hosts with skewed clocks judge leases and
  lateness by the same clock.
- **Connection.** TCP keepalives and `tcp_user_timeout` notice a cut network in seconds; a dropped connection is
  reopened with backoff (up to RECONNECT_SECONDS) before the next statement, and while the server stays away
  after that, each statement tries once (StoreUnavailableError: callers that poll, a worker, go on); it is said
  once when the store is found away and once when it is back. A write transaction that was cut is rolled back
  by the server (all or nothing) and reported as an error. Errors name host and port, never the password.
- **Schema** changes only through `deploytool store migrate` (`migrations.py`); opening refuses a database
  whose schema is missing, older or newer than this deploytool's, or that belongs to another program.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import psycopg.errors
from psycopg.conninfo import make_conninfo

from deploytool.errors import DeploytoolError, StoreUnavailableError
from deploytool.models import utcnow
from deploytool.store import pg_migrate
from deploytool.store.changes import Topic
from deploytool.store.pg_connect import connect_error, missing_defaults, reason, statement_error, where
from deploytool.store.pg_listen import Listener
from deploytool.store.pg_roles import permission_denied
from deploytool.store.sql import Connection, Cursor, Database, Dialect, LogRow, Row
from deploytool.store.sqlstore import SqlStore
from deploytool.store.urls import redact_url

log = logging.getLogger("deploytool.store")

POSTGRES = Dialect(
    name="postgresql",
    insertion_order="seq",
    for_update=" FOR UPDATE",
    skip_locked=" FOR UPDATE OF {table} SKIP LOCKED",
    lock_table="LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE",
)
CLOCK_RESYNC_SECONDS = 60.0  # how often the offset between this machine's clock and the server's is measured
RECONNECT_SECONDS = 30.0  # how long a dropped connection is retried before the store is reported unreachable
# A session that stays idle inside a transaction (a stuck client) is ended by the server after this.
_SESSION_SETUP = "SET idle_in_transaction_session_timeout = '60s'; SET TIME ZONE 'UTC'"


# --- rows and statements --------------------------------------------------------------------------------------


class PgRow:
    """A result row: `row["column"]`, `row[0]`, and unpacking (what the repositories use of sqlite3.Row)."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: Any) -> Any:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, index)

    return make


_TRANSLATED: dict[str, str] = {}


def translate(statement: str) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal `%` as `%%`), outside quoted strings."""
    cached = _TRANSLATED.get(statement)
    if cached is not None:
        return cached
    out: list[str] = []
    quote: str | None = None
    for char in statement:
        if quote:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    translated = "".join(out)
    if len(_TRANSLATED) < 2000:
        _TRANSLATED[statement] = translated
    return translated


def clean(value: object) -> object:
    """PostgreSQL text cannot hold NUL: a NUL (e.g. printed by a flow) becomes U+FFFD instead of losing the row."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class _Conn:
    """The `Connection` the repositories see: `?` statements on the backend's current psycopg connection."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    def execute(self, statement: str, parameters: Sequence[Any] = (), /) -> Cursor:
        if not parameters:  # sent as it is (a script may hold several statements)
            return self._db.run(statement, None)
        return self._db.run(translate(statement), [clean(p) for p in parameters])

    def executemany(self, statement: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        rows = [[clean(p) for p in row] for row in parameters]
        return self._db.run_many(translate(statement), rows)


class PostgresDatabase(Database):
    """One psycopg connection, reopened when it drops; thread-safe (one re-entrant lock)."""

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        self._url = url
        self._where = where(url)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn: psycopg.Connection[Any] | None = None
        self._facade = _Conn(self)
        self._offset: timedelta | None = None
        self._offset_measured = 0.0
        self._listener = Listener(url)  # its connection is opened by the first wait_for_change
        self._away_since: float | None = None  # monotonic time the connection was found lost, while it is
        self._gave_up = False  # a reconnection already waited RECONNECT_SECONDS in vain (and the store is away)
        self._connect()

    @property
    def url(self) -> str:
        return redact_url(self._url)

    # --- connection --------------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conninfo = make_conninfo(self._url, **missing_defaults(self._url))
            conn = psycopg.connect(conninfo, autocommit=True, row_factory=_row_factory)
            conn.execute(_SESSION_SETUP)
        except psycopg.Error as exc:
            raise connect_error(exc, self._url, self._where) from exc
        self._conn = conn
        return conn

    def _live(self) -> psycopg.Connection[Any]:
        """The connection, reopened (with backoff, up to RECONNECT_SECONDS) if it was lost. Says once that the
        store is unreachable, and once that it is back."""
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        # The first call to find the connection gone waits up to RECONNECT_SECONDS; while the store stays away
        # after that, each call tries once, so a caller that polls (a worker) is not held up again and again.
        deadline = time.monotonic() + (0.0 if self._gave_up else RECONNECT_SECONDS)
        delay = 0.1
        while True:
            try:
                conn = self._connect()
            except DeploytoolError as exc:
                if self._away_since is None:
                    self._away_since = time.monotonic()
                    log.warning("the store at %s is unreachable: %s; reconnecting", self._where, exc.message)
                if time.monotonic() >= deadline:
                    self._gave_up = True
                    raise StoreUnavailableError(exc.message, exc.hint) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
                continue
            away = "" if self._away_since is None else f" after {time.monotonic() - self._away_since:.0f} s"
            self._away_since, self._gave_up = None, False
            log.warning("reconnected to the store at %s%s", self._where, away)
            return conn

    def _lost(self, exc: psycopg.Error) -> DeploytoolError:
        return StoreUnavailableError(
            f"the connection to the store at {self._where} was lost: {reason(exc, self._url)}",
            hint="nothing of the interrupted change was stored (PostgreSQL rolled it back); run the command again"
            " once the database answers",
        )

    def run(self, statement: str, parameters: Sequence[Any] | None) -> Cursor:
        with self._lock:
            for attempt in (1, 2):
                conn = self._live()
                try:
                    return conn.execute(statement, parameters)
                except psycopg.OperationalError as exc:
                    # Outside a transaction a statement can be sent again on a new connection: a read, or a
                    # single autocommitted write that failed before the server answered (it did not happen).
                    if self._depth or not conn.broken or attempt == 2:
                        raise self._lost(exc) if conn.broken else statement_error(exc, self._url) from exc
                except psycopg.Error as exc:
                    raise self._refused(exc, statement, conn) from exc
        raise AssertionError("unreachable")

    def _refused(self, exc: psycopg.Error, statement: str, conn: psycopg.Connection[Any]) -> DeploytoolError:
        """A statement the server refused; "permission denied" (a role of `store grant`) says who may not do what."""
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return permission_denied(reason(exc, self._url), statement, conn.info.user, self._where)
        return statement_error(exc, self._url)

    def run_many(self, statement: str, rows: list[list[Any]]) -> Cursor:
        with self._lock:
            conn = self._live()
            cursor = conn.cursor()
            try:
                cursor.executemany(statement, rows)
            except psycopg.Error as exc:
                raise (self._lost(exc) if conn.broken else self._refused(exc, statement, conn)) from exc
            return cursor

    # --- transactions --------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._lock:
            if self._depth:
                yield from self._savepoint()
                return
            self.run("BEGIN", None)
            self._depth = 1
            try:
                yield self._facade
            except BaseException:
                self._rollback()
                raise
            else:
                try:
                    self.run("COMMIT", None)
                except BaseException:
                    self._rollback()
                    raise
            finally:
                self._depth = 0

    def _rollback(self) -> None:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return  # the server ends a transaction whose connection is gone
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error:
            conn.close()

    def _savepoint(self) -> Iterator[Connection]:
        name = f"sp{self._depth}"
        self.run(f"SAVEPOINT {name}", None)
        self._depth += 1
        try:
            yield self._facade
        except BaseException:
            if self._conn is not None and not self._conn.broken:
                self.run(f"ROLLBACK TO SAVEPOINT {name}", None)
                self.run(f"RELEASE SAVEPOINT {name}", None)
            raise
        else:
            self.run(f"RELEASE SAVEPOINT {name}", None)
        finally:
            self._depth -= 1

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        with self._lock:
            self.run("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", None)
            self._depth = 1
            try:
                yield self._facade
            finally:
                self._depth = 0
                self._rollback()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._lock:
            yield self._facade

    # --- what differs from SQLite ----------------------------------------------------------------------------

    def now(self) -> datetime:
        """The server's clock: this machine's, corrected by the offset measured against the server (again
        every CLOCK_RESYNC_SECONDS), so asking costs no round trip. While the server does not answer, the last
        offset measured stands in (a worker keeps its clock through a restart of the database)."""
        with self._lock:
            if self._offset is None or time.monotonic() - self._offset_measured > CLOCK_RESYNC_SECONDS:
                try:
                    self._measure_offset()
                except StoreUnavailableError:
                    if self._offset is None:
                        raise
            assert self._offset is not None
            return utcnow() + self._offset

    def _measure_offset(self) -> None:
        if self._offset is not None and (self._conn is None or self._conn.closed or self._conn.broken):
            raise StoreUnavailableError(f"the connection to the store at {self._where} is down")  # no waiting
        before = utcnow()
        server = self.run("SELECT clock_timestamp()", None).fetchone()[0]
        after = utcnow()
        assert isinstance(server, datetime)
        self._offset = server.astimezone(UTC) - (before + (after - before) / 2)
        self._offset_measured = time.monotonic()

    def insert_logs(self, conn: Connection, rows: Sequence[LogRow]) -> int:
        # One statement for the whole batch (arrays unnested server-side): 10,000 lines are one round trip.
        columns = list(zip(*[[clean(v) for v in row] for row in rows], strict=True))
        found = self.run(
            "WITH added AS (INSERT INTO logs (run_id, time, level, source, message, line_key)"
            " SELECT t.run_id, t.time, t.level, t.source, t.message, t.line_key"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
            " WITH ORDINALITY AS t(run_id, time, level, source, message, line_key, n) ORDER BY n"
            " ON CONFLICT DO NOTHING RETURNING id)"
            " SELECT coalesce((SELECT max(id) FROM added), (SELECT max(id) FROM logs WHERE run_id = %s), 0)",
            [*[list(c) for c in columns], rows[-1][0]],
        ).fetchone()
        return int(found[0])

    def lock_pool_for_claim(self, conn: Connection, pool_name: str) -> Row:
        # Why the pool's row, not an advisory lock: the claim must count the active runs of the pool, of its
        # queues and of the candidate's deployment and take a slot atomically; two claimers on two hosts that
        # count at the same time would each see "one slot free" and both take it. Every claimer of a pool
        # locks this row first, so claims of one pool take turns (each is a few index lookups, well under a
        # millisecond) while other pools claim in parallel. A row lock needs no key scheme (an advisory lock
        # would need a hash of the pool's name, with collisions between pools), goes away with the pool, shows
        # in pg_locks under the table's name, and is released at commit or when the connection dies.
        # FOR NO KEY UPDATE: foreign-key checks (a queue or deployment being added to the pool) do not wait.
        return conn.execute(
            "SELECT paused, concurrency_limit FROM work_pools WHERE name = ? FOR NO KEY UPDATE", (pool_name,)
        ).fetchone()

    def schema_version(self) -> int:
        with self._lock:
            return pg_migrate.current_version(self._facade)

    def wait_for_change(self, topics: Collection[Topic], timeout: float, wake: threading.Event | None) -> bool:
        # LISTEN/NOTIFY on a connection of its own (store/pg_listen.py); this one stays free for statements.
        return self._listener.wait(topics, timeout, wake)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def open_postgres(url: str) -> SqlStore:
    """Open the PostgreSQL store at `url`; its schema must be this deploytool's (`deploytool store migrate`)."""
    db = PostgresDatabase(url)
    try:
        pg_migrate.check(db.transaction, db.url)
    except BaseException:
        db.close()
        raise
    return SqlStore(db)


def migrate_postgres(url: str) -> tuple[int, list[int]]:
    """Apply the pending migrations (under an advisory lock: safe when run twice at once); (version, applied)."""
    db = PostgresDatabase(url)
    try:
        return pg_migrate.migrate(db.transaction, db.url)
    finally:
        db.close()
