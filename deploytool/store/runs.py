"""Flow runs: creation (idempotent), listing, state transitions, atomic claiming and leases.

Every state change goes through `check_transition`, the one place that applies `ALLOWED_TRANSITIONS`.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from deploytool.errors import ConflictError, NotFoundError
from deploytool.models import (
    ACTIVE,
    TERMINAL,
    FlowRun,
    RunCounts,
    RunState,
    utcnow,
)
from deploytool.records import replace
from deploytool.store.api import CrashHook
from deploytool.store.pools import pool_not_found
from deploytool.store.queues import ensure_queue
from deploytool.store.rows import dt, ts
from deploytool.store.run_rows import (
    ACTIVE_SQL,
    COLUMNS,
    SELECT,
    SETTABLE_FIELDS,
    any_due,
    any_expired,
    check_holder,
    check_transition,
    has_room,
    newest_runs,
    open_queues,
    run_from_row,
    run_values,
    set_job_id,
)
from deploytool.store.sql import Connection, Database

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


class FlowRunRepo:
    """Flow runs and their lifecycle. Times passed as `now` must be timezone-aware."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- creating and reading ---------------------------------------------------------------------------

    def create(self, run: FlowRun) -> FlowRun:
        """Store a new SCHEDULED run and return it.

        With an `idempotency_key` already used, nothing is written and the existing run is returned (compare
        ids to tell), so a scheduler may create the same slot twice. The pool must exist (NotFoundError); a
        missing queue is created. An empty `name` becomes `<deployment name>-<first 8 of the id>`.
        """
        if run.state is not RunState.SCHEDULED:
            raise ValueError(f"a new flow run must be SCHEDULED, not {run.state}")
        if not run.name:
            run = replace(run, name=f"{run.deployment_name}-{run.id[:8]}")
        with self._db.transaction() as conn:
            if run.idempotency_key is not None:
                row = conn.execute(f"{SELECT} WHERE idempotency_key = ?", (run.idempotency_key,)).fetchone()
                if row is not None:
                    return run_from_row(row)
            ensure_queue(conn, run.pool_name, run.queue_name)
            # ON CONFLICT: a concurrent creator of the same key (another host: PostgreSQL writers do not take
            # turns as SQLite's do) wins; this one then returns that run.
            inserted = conn.execute(
                f"INSERT INTO flow_runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                run_values(run),
            ).rowcount
            if not inserted:
                row = conn.execute(f"{SELECT} WHERE idempotency_key = ?", (run.idempotency_key,)).fetchone()
                return run_from_row(row)
        return run

    def insert_many(self, runs: Iterable[FlowRun], *, batch: int = 10_000) -> int:
        """Store complete runs as given, in any state, in few transactions (imports, benchmarks); how many."""
        from deploytool.store.bulk import insert_runs

        return insert_runs(self._db, runs, batch=batch)

    def get(self, run_id: str) -> FlowRun:
        """The run with this id; NotFoundError if none."""
        with self._db.read() as conn:
            row = conn.execute(f"{SELECT} WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"flow run {run_id!r} not found", hint="list runs: deploytool flow-run ls")
        return run_from_row(row)

    def find(self, ref: str, limit: int = 6) -> builtins.list[FlowRun]:
        """Runs whose id starts with `ref` (a range on the primary key) or whose name is `ref`; at most `limit`."""
        prefix = ref.lower()
        with self._db.read() as conn:
            rows = conn.execute(
                f"{SELECT} WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", (prefix, prefix + "\uffff", limit)
            ).fetchall()
            rows += conn.execute(f"{SELECT} WHERE name = ? LIMIT ?", (ref, limit)).fetchall()
        found = {row["id"]: run_from_row(row) for row in rows}
        return builtins.list(found.values())[:limit]

    def list(
        self,
        *,
        state: RunState | Iterable[RunState] | None = None,
        deployment_id: str | None = None,
        pool_name: str | None = None,
        limit: int = 50,
    ) -> list[FlowRun]:
        """The newest runs first (by creation), filtered by state(s), deployment and pool."""
        where: list[str] = []
        args: list[object] = []
        if state is not None:
            states = [state] if isinstance(state, RunState) else list(state)
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args.extend(s.value for s in states)
        if deployment_id is not None:
            where.append("deployment_id = ?")
            args.append(deployment_id)
        if pool_name is not None:
            where.append("pool_name = ?")
            args.append(pool_name)
        return newest_runs(self._db, where, args, limit)

    def counts(self) -> dict[str, RunCounts]:
        """Per pool name: runs queued (SCHEDULED) and running (PENDING, RUNNING, CANCELLING). Pools with
        neither are absent."""
        # Grouping every row by (pool_name, state) scans the covering index flow_runs_pool_state, which is
        # faster than filtering on state first (measured: 23 ms against 95 ms for 100k runs).
        with self._db.read() as conn:
            rows = conn.execute("SELECT pool_name, state, count(*) FROM flow_runs GROUP BY pool_name, state")
            queued: dict[str, int] = {}
            running: dict[str, int] = {}
            for pool_name, state, count in rows:
                if state == RunState.SCHEDULED:
                    queued[pool_name] = count
                elif state in ACTIVE:
                    running[pool_name] = running.get(pool_name, 0) + count
        return {
            name: RunCounts(queued=queued.get(name, 0), running=running.get(name, 0))
            for name in sorted(queued.keys() | running.keys())
        }

    # --- state changes ------------------------------------------------------------------------------------

    def set_state(
        self,
        run_id: str,
        new_state: RunState,
        message: str | None = None,
        *,
        now: datetime | None = None,
        retry: bool = False,
        expect_worker: str | None = None,
        expect_attempt: int | None = None,
        **fields: Any,
    ) -> FlowRun:
        """Move a run to `new_state` (checked by `check_transition`) and set `fields` (see SETTABLE_FIELDS).

        The store fills in the bookkeeping: RUNNING sets `start_time`; a terminal state sets `end_time` and
        drops the lease; SCHEDULED drops the worker and lease, and with `retry=True` (only from a terminal
        state) also increments `attempt` and clears the last attempt's times, exit code and infrastructure.
        With `expect_worker` (and `expect_attempt`), ConflictError unless that worker still holds the run
        (`check_holder`): a worker whose lease was recovered meanwhile can record nothing on it.
        """
        unknown = set(fields) - SETTABLE_FIELDS
        if unknown:
            raise TypeError(f"set_state() cannot set {sorted(unknown)}")
        now = now or utcnow()
        with self._db.transaction() as conn:
            run = self._get_locked(conn, run_id)
            if expect_worker is not None:
                check_holder(run, expect_worker, expect_attempt)
            check_transition(run, new_state, retry=retry)
            changes: dict[str, Any] = {"state": new_state, "state_message": message}
            if new_state is RunState.RUNNING and run.start_time is None:
                changes["start_time"] = now
            if new_state in TERMINAL:
                changes.update(end_time=now, lease_expires=None)
            if new_state is RunState.SCHEDULED:
                changes.update(worker_name=None, lease_expires=None)
                if retry:
                    changes.update(
                        attempt=run.attempt + 1,
                        start_time=None,
                        end_time=None,
                        exit_code=None,
                        infrastructure_id=None,
                        scheduled_time=now,
                    )
            changes.update(fields)
            updated = replace(run, **changes)
            self._write(conn, updated)
        return updated

    def retry(
        self,
        run_id: str,
        message: str,
        *,
        now: datetime | None = None,
        scheduled_time: datetime | None = None,
        expect_attempt: int | None = None,
    ) -> FlowRun:
        """Queue a finished run again: terminal -> SCHEDULED (the table's retry transition), attempt + 1, due at
        `scheduled_time` (default now). ConflictError for a run that is not finished, and, with `expect_attempt`,
        for one whose attempt moved on meanwhile (someone else retried it: never two retries of one crash).
        """
        now = now or utcnow()
        with self._db.transaction() as conn:
            run = self._get_locked(conn, run_id)
            if expect_attempt is not None and run.attempt != expect_attempt:
                raise ConflictError(
                    f"flow run {run.name!r} was already retried (it is at attempt {run.attempt}, {run.state})",
                    hint=f"see it: deploytool flow-run inspect {run.id[:8]}",
                )
            return self.set_state(
                run_id, RunState.SCHEDULED, message, now=now, retry=True, scheduled_time=scheduled_time or now
            )

    def _get_locked(self, conn: Connection, run_id: str) -> FlowRun:
        """The run, its row locked until the transaction ends (a concurrent state change waits)."""
        row = conn.execute(f"{SELECT} WHERE id = ?{self._db.dialect.for_update}", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"flow run {run_id!r} not found", hint="list runs: deploytool flow-run ls")
        return run_from_row(row)

    def _write(self, conn: Connection, run: FlowRun) -> None:
        assignments = ", ".join(f"{c} = ?" for c in COLUMNS[1:])
        conn.execute(f"UPDATE flow_runs SET {assignments} WHERE id = ?", (*run_values(run)[1:], run.id))

    # --- claiming and leases ------------------------------------------------------------------------------

    def claim_next(
        self,
        pool_name: str,
        queue_names: Sequence[str] | None,
        worker_name: str,
        lease_seconds: float,
        now: datetime,
    ) -> FlowRun | None:
        """Atomically move the best eligible run of the pool to PENDING for `worker_name`; None if none.

        Eligible: SCHEDULED with `scheduled_time <= now`, in one of `queue_names` (all queues if None), pool
        and queue not paused, and the concurrency limits of pool, queue and deployment not reached (counting
        PENDING, RUNNING and CANCELLING runs). Best: lowest queue priority number, then earliest scheduled
        time. A due run whose deployment is full with collision strategy CANCEL_NEW is CANCELLED on the way.
        The whole choice happens in one short transaction under the pool's claim lock (the backend's
        `lock_pool_for_claim`: SQLite's write lock; PostgreSQL's pool row lock): two workers never get the
        same run, and the limits are counted by one claimer at a time.
        """
        lease = ts(now + timedelta(seconds=lease_seconds))
        if not any_due(self._db, pool_name, ts(now)):  # read first: only a due run is worth the write lock
            return None
        with self._db.transaction() as conn:
            pool = self._db.lock_pool_for_claim(conn, pool_name)
            if pool is None:
                raise pool_not_found(pool_name)
            if pool["paused"] or not has_room(conn, pool["concurrency_limit"], "pool_name = ?", pool_name):
                return None
            for queue in open_queues(conn, pool_name, queue_names):
                if not has_room(
                    conn,
                    queue["concurrency_limit"],
                    "pool_name = ? AND queue_name = ?",
                    pool_name,
                    queue["name"],
                ):
                    continue
                claimed = self._claim_from_queue(conn, pool_name, queue["name"], worker_name, lease, now)
                if claimed is not None:
                    return claimed
        return None

    def _claim_from_queue(
        self,
        conn: Connection,
        pool_name: str,
        queue_name: str,
        worker: str,
        lease: str,
        now: datetime,
    ) -> FlowRun | None:
        dialect = self._db.dialect
        while True:
            # The index flow_runs_claim yields this queue's due runs in scheduled order; runs of a deployment
            # that is full (ENQUEUE) are skipped, so they never hold up other deployments' runs.
            row = conn.execute(
                "SELECT r.id, d.collision_strategy, d.concurrency_limit,"
                f" (SELECT count(*) FROM flow_runs a WHERE a.deployment_id = r.deployment_id"
                f"  AND a.state IN {ACTIVE_SQL}) AS busy"
                " FROM flow_runs r LEFT JOIN deployments d ON d.id = r.deployment_id"
                " WHERE r.pool_name = ? AND r.queue_name = ? AND r.state = 'SCHEDULED'"
                "  AND r.scheduled_time <= ?"
                "  AND (d.concurrency_limit IS NULL OR d.collision_strategy = 'CANCEL_NEW'"
                "   OR (SELECT count(*) FROM flow_runs a WHERE a.deployment_id = r.deployment_id"
                f"       AND a.state IN {ACTIVE_SQL}) < d.concurrency_limit)"
                f" ORDER BY r.scheduled_time, r.{dialect.insertion_order} LIMIT 1"
                + dialect.skip_locked.format(table="r"),
                (pool_name, queue_name, ts(now)),
            ).fetchone()
            if row is None:
                return None
            run = self.get(row["id"])
            busy = row["busy"]
            if row["concurrency_limit"] is not None and dialect.for_update:
                # A deployment's runs may wait in two pools (it moved): lock its row, so claimers of both pools
                # take turns on its limit, and count again under that lock.
                conn.execute(f"SELECT id FROM deployments WHERE id = ?{dialect.for_update}", (run.deployment_id,))
                busy = conn.execute(
                    f"SELECT count(*) FROM flow_runs WHERE deployment_id = ? AND state IN {ACTIVE_SQL}",
                    (run.deployment_id,),
                ).fetchone()[0]
            full = row["concurrency_limit"] is not None and busy >= row["concurrency_limit"]
            if full and row["collision_strategy"] != "CANCEL_NEW":
                return None  # another host filled the deployment meanwhile: this queue waits for the next poll
            new_state = RunState.CANCELLED if full else RunState.PENDING
            check_transition(run, new_state)
            if full:
                message = f"deployment concurrency limit {row['concurrency_limit']} reached (CANCEL_NEW)"
                self._write(conn, replace(run, state=new_state, state_message=message, end_time=now))
                continue
            claimed = replace(run, state=new_state, state_message=None, worker_name=worker, lease_expires=dt(lease))
            self._write(conn, claimed)
            return claimed

    def renew_leases(self, worker_name: str, lease_seconds: float, now: datetime, pool_name: str | None = None) -> int:
        """Extend the lease of every active run the worker holds to now + lease_seconds; return how many."""
        sql = f"UPDATE flow_runs SET lease_expires = ? WHERE worker_name = ? AND state IN {ACTIVE_SQL}"
        args: builtins.list[object] = [ts(now + timedelta(seconds=lease_seconds)), worker_name]
        if pool_name is not None:
            sql += " AND pool_name = ?"
            args.append(pool_name)
        with self._db.transaction() as conn:
            return int(conn.execute(sql, args).rowcount)

    def set_infrastructure_id(self, run_id: str, worker_name: str, infrastructure_id: str) -> bool:
        return set_job_id(self._db, run_id, worker_name, infrastructure_id)

    def recover_expired(
        self, now: datetime, on_crash: CrashHook | None = None
    ) -> builtins.list[tuple[FlowRun, RunState]]:
        """Recover the active runs whose lease expired before `now` (their worker is gone).

        PENDING goes back to SCHEDULED (it never started); RUNNING and CANCELLING become CRASHED with a
        message naming the worker. A CRASHED run for which `on_crash` returns (when, message) is then retried
        (`retry`) in the same transaction. Returns each recovered run (as it is now) with its new state.
        """
        if not any_expired(self._db, ts(now)):  # read first: most passes find nothing, and need no write lock
            return []
        recovered: builtins.list[tuple[FlowRun, RunState]] = []
        with self._db.transaction() as conn:
            # SKIP LOCKED: two workers recovering at once each take the runs the other has not.
            rows = conn.execute(
                f"{SELECT} WHERE state IN {ACTIVE_SQL} AND lease_expires < ? ORDER BY lease_expires"
                + self._db.dialect.skip_locked.format(table="flow_runs"),
                (ts(now),),
            ).fetchall()
            for row in rows:
                run = run_from_row(row)
                expired = run.lease_expires.isoformat(timespec="seconds") if run.lease_expires else "?"
                if run.state is RunState.PENDING:
                    new_state = RunState.SCHEDULED
                    message = (
                        f"worker {run.worker_name!r} lost its lease (expired {expired})"
                        " before starting the run; re-queued"
                    )
                    changes: dict[str, Any] = {"worker_name": None, "lease_expires": None}
                else:
                    new_state = RunState.CRASHED
                    message = (
                        f"worker {run.worker_name!r} stopped renewing its lease (expired {expired});"
                        " the run's outcome is unknown"
                    )
                    changes = {"end_time": now, "lease_expires": None}
                check_transition(run, new_state)
                updated = replace(run, state=new_state, state_message=message, **changes)
                self._write(conn, updated)
                decision = on_crash(updated, run.state) if on_crash and new_state is RunState.CRASHED else None
                if decision is not None:
                    when, retry_message = decision
                    updated = self.retry(
                        run.id, retry_message, now=now, scheduled_time=when, expect_attempt=run.attempt
                    )
                    new_state = RunState.SCHEDULED
                recovered.append((updated, new_state))
        return recovered
