"""Deployments: upsert by (flow name, name), lookups, delete, and listing by source file for prune."""

from __future__ import annotations

import builtins

from deploytool.errors import NotFoundError
from deploytool.models import Deployment, utcnow
from deploytool.records import replace
from deploytool.store.queues import ensure_queue
from deploytool.store.rows import dt, dump, load, ts
from deploytool.store.sql import Database, Row

_COLUMNS = (
    "id, flow_name, flow_key, name, entrypoint, pool_name, queue_name, parameters, parameter_schema,"
    " job_variables, pull_steps, schedules, tags, version, description, concurrency, concurrency_limit,"
    " collision_strategy, enforce_parameter_schema, paused, source_file, content_hash, created, updated,"
    " crash_retries, catch_up"
)


def flow_key(flow_name: str) -> str:
    """The lookup key of a flow name: `my_flow` and `my-flow` name the same flow."""
    return flow_name.replace("_", "-")


def deployment_from_row(row: Row) -> Deployment:
    return Deployment(
        id=row["id"],
        flow_name=row["flow_name"],
        name=row["name"],
        entrypoint=row["entrypoint"],
        pool_name=row["pool_name"],
        queue_name=row["queue_name"],
        parameters=load(row["parameters"]),
        parameter_schema=load(row["parameter_schema"]),
        job_variables=load(row["job_variables"]),
        pull_steps=load(row["pull_steps"]),
        schedules=load(row["schedules"]),
        tags=load(row["tags"]),
        version=row["version"],
        description=row["description"],
        concurrency_limit=load(row["concurrency"]),
        crash_retries=load(row["crash_retries"]),
        enforce_parameter_schema=bool(row["enforce_parameter_schema"]),
        paused=bool(row["paused"]),
        source_file=row["source_file"],
        content_hash=row["content_hash"],
        created=dt(row["created"]),
        updated=dt(row["updated"]),
        catch_up=row["catch_up"],
    )


def _values(d: Deployment) -> tuple[object, ...]:
    limit = d.concurrency_limit or {}
    return (
        d.id,
        d.flow_name,
        flow_key(d.flow_name),
        d.name,
        d.entrypoint,
        d.pool_name,
        d.queue_name,
        dump(d.parameters),
        dump(d.parameter_schema),
        dump(d.job_variables),
        dump(d.pull_steps),
        dump(d.schedules),
        dump(d.tags),
        d.version,
        d.description,
        None if d.concurrency_limit is None else dump(d.concurrency_limit),
        limit.get("limit"),
        limit.get("collision_strategy", "ENQUEUE") if d.concurrency_limit is not None else None,
        int(d.enforce_parameter_schema),
        int(d.paused),
        d.source_file,
        d.content_hash,
        ts(d.created),
        ts(d.updated),
        None if d.crash_retries is None else dump(d.crash_retries),
        d.catch_up,
    )


class DeploymentRepo:
    """Deployments, unique by (flow name with `_` and `-` alike, deployment name)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, deployment_id: str) -> Deployment:
        """The deployment with this id; NotFoundError if none."""
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM deployments WHERE id = ?", (deployment_id,)).fetchone()
        if row is None:
            raise NotFoundError(
                f"deployment {deployment_id!r} not found", hint="list deployments: deploytool deployment ls"
            )
        return deployment_from_row(row)

    def get_by_name(self, flow_name: str, name: str) -> Deployment:
        """The deployment `flow_name/name`; `my_flow` matches `my-flow`. NotFoundError if none."""
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM deployments WHERE flow_key = ? AND name = ?",
                (flow_key(flow_name), name),
            ).fetchone()
            if row is None:
                same_flow = [
                    r[0]
                    for r in conn.execute(
                        "SELECT name FROM deployments WHERE flow_key = ? ORDER BY name",
                        (flow_key(flow_name),),
                    )
                ]
        if row is None:
            hint = (
                f"deployments of flow {flow_name!r}: {', '.join(same_flow)}"
                if same_flow
                else "list deployments: deploytool deployment ls"
            )
            raise NotFoundError(f"deployment {flow_name}/{name} not found", hint=hint)
        return deployment_from_row(row)

    def list(self, pool_name: str | None = None) -> list[Deployment]:
        """All deployments (or those of one pool), by flow name then name."""
        with self._db.read() as conn:
            if pool_name is None:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM deployments ORDER BY flow_key, name").fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM deployments WHERE pool_name = ? ORDER BY flow_key, name",
                    (pool_name,),
                ).fetchall()
        return [deployment_from_row(r) for r in rows]

    def list_by_source(self, source_file: str) -> builtins.list[Deployment]:
        """Deployments registered from one project file (what `deploy --prune` compares against)."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM deployments WHERE source_file = ? ORDER BY flow_key, name",
                (source_file,),
            ).fetchall()
        return [deployment_from_row(r) for r in rows]

    def upsert(self, deployment: Deployment) -> tuple[Deployment, bool]:
        """Create or replace the deployment with the same (flow name, name); return (stored, created).

        On update the stored id and `created` are kept, every other field is replaced. The pool must exist
        (NotFoundError with a hint otherwise); a queue that does not exist is created in it. Wrap many upserts
        in `Store.transaction()` to apply them all or none.
        """
        now = utcnow()
        with self._db.transaction() as conn:
            ensure_queue(conn, deployment.pool_name, deployment.queue_name)
            key = (flow_key(deployment.flow_name), deployment.name)
            find = f"SELECT id, created FROM deployments WHERE flow_key = ? AND name = ?{self._db.dialect.for_update}"
            existing = conn.execute(find, key).fetchone()
            if existing is None:
                stored = replace(deployment, created=now, updated=now)
                values = _values(stored)
                inserted = conn.execute(
                    f"INSERT INTO deployments ({_COLUMNS}) VALUES ({', '.join('?' * len(values))})"
                    " ON CONFLICT (flow_key, name) DO NOTHING",
                    values,
                ).rowcount
                if inserted:
                    return stored, True
                # Another host created it meanwhile (PostgreSQL writers do not take turns): update that one.
                existing = conn.execute(find, key).fetchone()
            stored = replace(deployment, id=existing["id"], created=dt(existing["created"]), updated=now)
            assignments = ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(",")[1:])
            conn.execute(f"UPDATE deployments SET {assignments} WHERE id = ?", (*_values(stored)[1:], stored.id))
            return stored, False

    def set_paused(self, deployment_id: str, paused: bool) -> Deployment:
        """Pause or resume a deployment (a paused deployment's schedules create no runs)."""
        with self._db.transaction() as conn:
            self.get(deployment_id)
            conn.execute(
                "UPDATE deployments SET paused = ?, updated = ? WHERE id = ?",
                (int(paused), ts(utcnow()), deployment_id),
            )
        return self.get(deployment_id)

    def delete(self, deployment_id: str) -> int:
        """Delete a deployment and its SCHEDULED runs; return how many runs were deleted.

        Runs already claimed or finished are kept (their `deployment_id` becomes None; they keep the flow and
        deployment names), so active runs finish and history stays readable.
        """
        with self._db.transaction() as conn:
            self.get(deployment_id)
            deleted = conn.execute(
                "DELETE FROM flow_runs WHERE deployment_id = ? AND state = 'SCHEDULED'", (deployment_id,)
            ).rowcount
            conn.execute("DELETE FROM deployments WHERE id = ?", (deployment_id,))
        return int(deleted)
