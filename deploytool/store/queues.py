"""Work queues within pools: priority (lower first), concurrency limit, paused."""

from __future__ import annotations

from deploytool.errors import ConflictError, NotFoundError
from deploytool.models import DEFAULT_QUEUE, WorkQueue, utcnow
from deploytool.records import replace
from deploytool.store.pools import pool_not_found
from deploytool.store.rows import UNSET, dt, given, ts
from deploytool.store.sql import Connection, Database, Row


def queue_from_row(row: Row) -> WorkQueue:
    return WorkQueue(
        pool_name=row["pool_name"],
        name=row["name"],
        priority=row["priority"],
        concurrency_limit=row["concurrency_limit"],
        paused=bool(row["paused"]),
        created=dt(row["created"]),
        updated=dt(row["updated"]),
    )


def ensure_queue(conn: Connection, pool_name: str, name: str) -> None:
    """Create queue `name` in the pool if it is missing, with the next free priority (Prefect does the same
    when a deployment or run names a queue that does not exist). NotFoundError if the pool does not exist.
    Call inside a transaction."""
    if conn.execute("SELECT 1 FROM work_pools WHERE name = ?", (pool_name,)).fetchone() is None:
        raise pool_not_found(pool_name)
    if conn.execute("SELECT 1 FROM work_queues WHERE pool_name = ? AND name = ?", (pool_name, name)).fetchone():
        return
    now = ts(utcnow())
    conn.execute(
        "INSERT INTO work_queues (pool_name, name, priority, paused, created, updated) VALUES"
        " (?, ?, (SELECT coalesce(max(priority), 0) + 1 FROM work_queues WHERE pool_name = ?), 0, ?, ?)"
        " ON CONFLICT (pool_name, name) DO NOTHING",
        (pool_name, name, pool_name, now, now),
    )


class WorkQueueRepo:
    """Queues of a pool. Every pool has a `default` queue, which cannot be deleted."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, pool_name: str, name: str, *, priority: int | None = None, concurrency_limit: int | None = None
    ) -> WorkQueue:
        """Add a queue; without `priority` it takes max+1 (served last). ConflictError if taken."""
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM work_pools WHERE name = ?", (pool_name,)).fetchone() is None:
                raise pool_not_found(pool_name)
            if conn.execute("SELECT 1 FROM work_queues WHERE pool_name = ? AND name = ?", (pool_name, name)).fetchone():
                raise ConflictError(
                    f"work queue {name!r} already exists in pool {pool_name!r}",
                    hint="use another name, or change it with `deploytool work-queue update`",
                )
            if priority is None:
                priority = conn.execute(
                    "SELECT coalesce(max(priority), 0) + 1 FROM work_queues WHERE pool_name = ?",
                    (pool_name,),
                ).fetchone()[0]
            queue = WorkQueue(pool_name, name, priority=priority, concurrency_limit=concurrency_limit)
            conn.execute(
                "INSERT INTO work_queues (pool_name, name, priority, concurrency_limit, paused, created,"
                " updated) VALUES (?, ?, ?, ?, 0, ?, ?)",
                (pool_name, name, queue.priority, concurrency_limit, ts(queue.created), ts(queue.updated)),
            )
        return queue

    def get(self, pool_name: str, name: str) -> WorkQueue:
        """The queue; NotFoundError (naming the pool's queues) if missing."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM work_queues WHERE pool_name = ? AND name = ?", (pool_name, name)
            ).fetchone()
        if row is None:
            import shlex  # for this hint only: listings load no shlex

            names = ", ".join(q.name for q in self.list(pool_name)) or "none"
            raise NotFoundError(
                f"work queue {name!r} not found in pool {pool_name!r} (its queues: {names})",
                hint=f"create it: deploytool work-queue create {shlex.quote(name)} --pool {shlex.quote(pool_name)}",
            )
        return queue_from_row(row)

    def list(self, pool_name: str | None = None) -> list[WorkQueue]:
        """Queues of one pool (or of all pools), in the order they are served: priority, then name."""
        with self._db.read() as conn:
            if pool_name is None:
                rows = conn.execute("SELECT * FROM work_queues ORDER BY pool_name, priority, name").fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM work_queues WHERE pool_name = ? ORDER BY priority, name", (pool_name,)
                ).fetchall()
        return [queue_from_row(r) for r in rows]

    def update(
        self,
        pool_name: str,
        name: str,
        *,
        priority: int = UNSET,
        concurrency_limit: int | None = UNSET,
        paused: bool = UNSET,
    ) -> WorkQueue:
        """Change the given fields only (pass `concurrency_limit=None` to remove the limit)."""
        with self._db.transaction() as conn:
            changes = given(priority=priority, concurrency_limit=concurrency_limit, paused=paused)
            queue = replace(self.get(pool_name, name), updated=utcnow(), **changes)
            conn.execute(
                "UPDATE work_queues SET priority = ?, concurrency_limit = ?, paused = ?, updated = ?"
                " WHERE pool_name = ? AND name = ?",
                (
                    queue.priority,
                    queue.concurrency_limit,
                    int(queue.paused),
                    ts(queue.updated),
                    pool_name,
                    name,
                ),
            )
        return queue

    def delete(self, pool_name: str, name: str) -> None:
        """Delete a queue. ConflictError for `default`, or while deployments target it or runs wait in it."""
        if name == DEFAULT_QUEUE:
            raise ConflictError(
                f"the {DEFAULT_QUEUE!r} queue of pool {pool_name!r} cannot be deleted",
                hint="delete the pool instead, or pause the queue",
            )
        with self._db.transaction() as conn:
            self.get(pool_name, name)
            used = conn.execute(
                "SELECT count(*) FROM deployments WHERE pool_name = ? AND queue_name = ?", (pool_name, name)
            ).fetchone()[0]
            waiting = conn.execute(
                "SELECT count(*) FROM flow_runs WHERE pool_name = ? AND queue_name = ?"
                " AND state IN ('SCHEDULED', 'PENDING', 'RUNNING', 'CANCELLING')",
                (pool_name, name),
            ).fetchone()[0]
            if used or waiting:
                raise ConflictError(
                    f"work queue {name!r} of pool {pool_name!r} is in use"
                    f" ({used} deployment(s), {waiting} unfinished run(s))",
                    hint="move those deployments to another queue and let the runs finish, or pause it",
                )
            conn.execute("DELETE FROM work_queues WHERE pool_name = ? AND name = ?", (pool_name, name))
