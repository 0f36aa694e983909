"""Work pools: create, read, update and delete, with each pool's `default` queue."""

from __future__ import annotations

from deploytool.errors import ConflictError, NotFoundError
from deploytool.models import ACTIVE, DEFAULT_QUEUE, RunState, WorkPool, utcnow
from deploytool.records import replace
from deploytool.store.rows import UNSET, dt, dump, given, load, ts
from deploytool.store.sql import Database, Row

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

_ACTIVE_SQL = "('PENDING', 'RUNNING', 'CANCELLING')"
assert {RunState(s) for s in ("PENDING", "RUNNING", "CANCELLING")} == ACTIVE


def pool_from_row(row: Row) -> WorkPool:
    return WorkPool(
        name=row["name"],
        type=row["type"],
        base_job_template=load(row["base_job_template"]),
        concurrency_limit=row["concurrency_limit"],
        paused=bool(row["paused"]),
        description=row["description"],
        created=dt(row["created"]),
        updated=dt(row["updated"]),
    )


def pool_not_found(name: str) -> NotFoundError:
    import shlex  # for this hint only: listings load no shlex

    return NotFoundError(
        f"work pool {name!r} not found",
        hint=f"create it: deploytool work-pool create {shlex.quote(name)} --type process",
    )


class WorkPoolRepo:
    """Work pools. Creating a pool creates its `default` queue (priority 1)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, pool: WorkPool, *, overwrite: bool = False) -> WorkPool:
        """Store a new pool. ConflictError if the name is taken, unless `overwrite` (queues are kept)."""
        now = utcnow()
        with self._db.transaction() as conn:
            existing = conn.execute("SELECT created FROM work_pools WHERE name = ?", (pool.name,)).fetchone()
            if existing and not overwrite:
                raise ConflictError(
                    f"work pool {pool.name!r} already exists",
                    hint="use another name, or update it with `deploytool work-pool update`",
                )
            created = dt(existing["created"]) if existing else now
            stored = replace(pool, created=created, updated=now)
            conn.execute(
                # An upsert, not INSERT OR REPLACE: a replace would delete the row and cascade to its queues.
                "INSERT INTO work_pools"
                " (name, type, base_job_template, concurrency_limit, paused, description, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET type = excluded.type,"
                " base_job_template = excluded.base_job_template, concurrency_limit = excluded.concurrency_limit,"
                " paused = excluded.paused, description = excluded.description, updated = excluded.updated",
                (
                    stored.name,
                    stored.type,
                    dump(stored.base_job_template),
                    stored.concurrency_limit,
                    int(stored.paused),
                    stored.description,
                    ts(stored.created),
                    ts(stored.updated),
                ),
            )
            conn.execute(
                "INSERT INTO work_queues (pool_name, name, priority, paused, created, updated)"
                " VALUES (?, ?, 1, 0, ?, ?) ON CONFLICT (pool_name, name) DO NOTHING",
                (pool.name, DEFAULT_QUEUE, ts(now), ts(now)),
            )
        return stored

    def get(self, name: str) -> WorkPool:
        """The pool called `name`; NotFoundError if there is none."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM work_pools WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise pool_not_found(name)
        return pool_from_row(row)

    def list(self) -> list[WorkPool]:
        """All pools, by name."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM work_pools ORDER BY name").fetchall()
        return [pool_from_row(r) for r in rows]

    def update(
        self,
        name: str,
        *,
        base_job_template: dict[str, Any] = UNSET,
        concurrency_limit: int | None = UNSET,
        paused: bool = UNSET,
        description: str | None = UNSET,
    ) -> WorkPool:
        """Change the given fields only (pass `concurrency_limit=None` to remove the limit)."""
        with self._db.transaction() as conn:
            changes = given(
                base_job_template=base_job_template,
                concurrency_limit=concurrency_limit,
                paused=paused,
                description=description,
            )
            pool = replace(self.get(name), updated=utcnow(), **changes)
            conn.execute(
                "UPDATE work_pools SET base_job_template = ?, concurrency_limit = ?, paused = ?,"
                " description = ?, updated = ? WHERE name = ?",
                (
                    dump(pool.base_job_template),
                    pool.concurrency_limit,
                    int(pool.paused),
                    pool.description,
                    ts(pool.updated),
                    name,
                ),
            )
        return pool

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a pool and its queues and worker records.

        Without `force`, ConflictError if the pool has active (PENDING, RUNNING, CANCELLING) runs or any
        deployments. With `force`: its deployments are deleted, its SCHEDULED runs are deleted, its PENDING
        and RUNNING runs move to CANCELLING (so their workers stop them). Finished runs stay as history.
        """
        with self._db.transaction() as conn:
            self.get(name)
            active = conn.execute(
                f"SELECT count(*) FROM flow_runs WHERE pool_name = ? AND state IN {_ACTIVE_SQL}", (name,)
            ).fetchone()[0]
            deployments = conn.execute("SELECT count(*) FROM deployments WHERE pool_name = ?", (name,)).fetchone()[0]
            if not force and active:
                raise ConflictError(
                    f"work pool {name!r} has {active} active run(s)",
                    hint="wait for them to finish or cancel them, or delete with --force to cancel them",
                )
            if not force and deployments:
                raise ConflictError(
                    f"work pool {name!r} is used by {deployments} deployment(s)",
                    hint="delete or move those deployments first, or delete with --force to delete them too",
                )
            conn.execute("DELETE FROM flow_runs WHERE pool_name = ? AND state = 'SCHEDULED'", (name,))
            conn.execute(
                "UPDATE flow_runs SET state = 'CANCELLING', state_message = ?"
                " WHERE pool_name = ? AND state IN ('PENDING', 'RUNNING')",
                (f"work pool {name!r} was deleted", name),
            )
            conn.execute("DELETE FROM deployments WHERE pool_name = ?", (name,))
            conn.execute("DELETE FROM workers WHERE pool_name = ?", (name,))
            conn.execute("DELETE FROM work_pools WHERE name = ?", (name,))
