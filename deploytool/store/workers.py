"""Worker heartbeats, and the pool status derived from them."""

from __future__ import annotations

from datetime import datetime

from deploytool.errors import NotFoundError
from deploytool.models import PoolStatus, WorkerHeartbeat
from deploytool.store.pools import pool_from_row, pool_not_found
from deploytool.store.rows import dt, ts
from deploytool.store.sql import Database, Row
from deploytool.store.worker_status import pool_readiness


def _worker_from_row(row: Row) -> WorkerHeartbeat:
    return WorkerHeartbeat(
        name=row["name"],
        pool_name=row["pool_name"],
        host=row["host"],
        pid=row["pid"],
        last_heartbeat=dt(row["last_heartbeat"]),
        problem=row["problem"],
        lease_seconds=row["lease_seconds"],
    )


class WorkerRepo:
    """Workers as seen through their heartbeats, unique by (pool name, worker name)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def heartbeat(
        self,
        name: str,
        pool_name: str,
        host: str,
        pid: int,
        now: datetime,
        problem: str | None = None,
        lease_seconds: float | None = None,
    ) -> WorkerHeartbeat:
        """Record that the worker is alive (creating its record on the first beat), the `problem` that keeps it
        from taking runs (None: it can) and how long this heartbeat counts (`lease_seconds`; None: a default lease)."""
        worker = WorkerHeartbeat(name, pool_name, host, pid, now, problem, lease_seconds)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO workers (pool_name, name, host, pid, last_heartbeat, problem, lease_seconds)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pool_name, name) DO UPDATE SET host = excluded.host,"
                " pid = excluded.pid, last_heartbeat = excluded.last_heartbeat, problem = excluded.problem,"
                " lease_seconds = excluded.lease_seconds",
                (pool_name, name, host, pid, ts(now), problem, lease_seconds),
            )
        return worker

    def list(self, pool_name: str | None = None) -> list[WorkerHeartbeat]:
        """Workers (of one pool, or all), most recent heartbeat first."""
        with self._db.read() as conn:
            if pool_name is None:
                rows = conn.execute("SELECT * FROM workers ORDER BY last_heartbeat DESC").fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM workers WHERE pool_name = ? ORDER BY last_heartbeat DESC", (pool_name,)
                ).fetchall()
        return [_worker_from_row(r) for r in rows]

    def delete(self, pool_name: str, name: str) -> None:
        """Forget a worker (e.g. one that went offline for good). NotFoundError if unknown."""
        with self._db.transaction() as conn:
            deleted = conn.execute("DELETE FROM workers WHERE pool_name = ? AND name = ?", (pool_name, name)).rowcount
        if not deleted:
            raise NotFoundError(
                f"worker {name!r} not found in pool {pool_name!r}",
                hint=f"list workers: deploytool worker ls --pool {pool_name}",
            )

    def delete_stale(self, before: datetime) -> int:
        """Forget every worker whose last heartbeat is older than `before`; return how many."""
        with self._db.transaction() as conn:
            return int(conn.execute("DELETE FROM workers WHERE last_heartbeat < ?", (ts(before),)).rowcount)

    def pool_status(self, pool_name: str, now: datetime) -> PoolStatus:
        """PAUSED if the pool is paused; READY while one of its workers is online (deploytool.store.worker_status,
        the rule of `worker ls`) and reports no problem; else NOT_READY."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM work_pools WHERE name = ?", (pool_name,)).fetchone()
            if row is None:
                raise pool_not_found(pool_name)
            workers = conn.execute("SELECT * FROM workers WHERE pool_name = ?", (pool_name,)).fetchall()
        return pool_readiness(pool_from_row(row).paused, map(_worker_from_row, workers), now)[0]
