"""`deploytool store copy`: everything in one store, copied into another (SQLite <-> PostgreSQL).

The source is read in one snapshot (a consistent state while workers go on writing); the target is written in
one transaction: a copy that fails (a dropped connection, a full disk) leaves the target as it was. Rows keep
their ids, names and times; log lines and runs keep their order (log ids are renumbered by the target). Block
documents are copied as stored, secrets included, and never printed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from deploytool.errors import ConflictError
from deploytool.records import record
from deploytool.store.api import Store
from deploytool.store.sql import DATA_TABLES, Connection, Database
from deploytool.store.sqlstore import SqlStore

# The columns copied, per table (tests/store/test_copy.py checks them against the schema of both backends).
COLUMNS: dict[str, tuple[str, ...]] = {
    "work_pools": (
        "name", "type", "base_job_template", "concurrency_limit", "paused", "description", "created", "updated",
    ),
    "work_queues": ("pool_name", "name", "priority", "concurrency_limit", "paused", "created", "updated"),
    "deployments": (
        "id", "flow_name", "flow_key", "name", "entrypoint", "pool_name", "queue_name", "parameters",
        "parameter_schema", "job_variables", "pull_steps", "schedules", "tags", "version", "description",
        "concurrency", "concurrency_limit", "collision_strategy", "enforce_parameter_schema", "paused",
        "source_file", "content_hash", "created", "updated", "catch_up", "crash_retries",
    ),
    "schedule_marks": ("deployment_id", "schedule_id", "until"),
    "flow_runs": (
        "id", "name", "deployment_id", "flow_name", "deployment_name", "pool_name", "queue_name", "parameters",
        "job_variables", "state", "state_message", "scheduled_time", "start_time", "end_time", "attempt",
        "worker_name", "lease_expires", "infrastructure_id", "exit_code", "created", "idempotency_key",
    ),
    "logs": ("run_id", "time", "level", "source", "message", "line_key"),
    "task_runs": (
        "id", "flow_run_id", "name", "task_name", "state", "attempts", "start_time", "end_time", "duration_seconds",
        "message", "tags",
    ),
    "workers": ("pool_name", "name", "host", "pid", "last_heartbeat", "problem", "lease_seconds"),
    "variables": ("name", "value", "updated"),
    "blocks": ("type", "name", "data", "secret_fields", "sealed", "key_id", "updated"),
}  # fmt: skip
PAGE = 5_000


@record
class CopyResult:
    source: str
    target: str
    counts: dict[str, int]
    replaced: bool


def _database(store: Store) -> Database:
    assert isinstance(store, SqlStore), f"cannot copy a {type(store).__name__}"
    return store.database


def _order(db: Database, table: str) -> str | None:
    """The column that pages through a big table in insertion order."""
    if table == "flow_runs":
        return db.dialect.insertion_order
    return "id" if table == "logs" else None


def _pages(db: Database, conn: Connection, table: str) -> Iterator[list[tuple[object, ...]]]:
    columns = COLUMNS[table]
    order = _order(db, table)
    if order is None:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        yield [tuple(r) for r in rows]
        return
    after: object = -1
    while True:
        rows = conn.execute(
            f"SELECT {order}, {', '.join(columns)} FROM {table} WHERE {order} > ? ORDER BY {order} LIMIT ?",
            (after, PAGE),
        ).fetchall()
        if not rows:
            return
        after = rows[-1][0]
        yield [tuple(r)[1:] for r in rows]


def copy_store(
    source: Store, target: Store, *, replace: bool = False, progress: Callable[[str, int], None] | None = None
) -> CopyResult:
    """Copy every row of `source` into `target` (one transaction). ConflictError if the target holds data,
    unless `replace` (then what it held is deleted first, in the same transaction)."""
    src, dst = _database(source), _database(target)
    existing = {t: n for t, n in target.table_counts().items() if n}
    if existing and not replace:
        shown = ", ".join(f"{n} {t}" for t, n in existing.items())
        raise ConflictError(
            f"the target store {target.url} is not empty ({shown})",
            hint="copy into an empty store, or pass --replace to delete what it holds first",
        )
    counts = dict.fromkeys(DATA_TABLES, 0)
    with src.snapshot() as reading, dst.transaction() as writing:
        for table in reversed(DATA_TABLES):
            writing.execute(f"DELETE FROM {table}")
        for table in DATA_TABLES:
            columns = COLUMNS[table]
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for page in _pages(src, reading, table):
                if page:
                    writing.executemany(insert, page)
                    counts[table] += len(page)
                    if progress is not None:
                        progress(table, counts[table])
    return CopyResult(source.url, target.url, counts, bool(existing))
