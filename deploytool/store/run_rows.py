"""Flow-run rows: the columns, row <-> FlowRun conversion, and the one check of state transitions."""

from __future__ import annotations

from collections.abc import Sequence

from deploytool.errors import ConflictError
from deploytool.models import ACTIVE, ALLOWED_TRANSITIONS, TERMINAL, FlowRun, RunState
from deploytool.store.pools import pool_not_found
from deploytool.store.rows import dt, dt_or_none, dump, load, ts, ts_or_none
from deploytool.store.sql import Connection, Database, Row

COLUMNS = (
    "id", "name", "deployment_id", "flow_name", "deployment_name", "pool_name", "queue_name", "parameters",
    "job_variables", "state", "state_message", "scheduled_time", "start_time", "end_time", "attempt",
    "worker_name", "lease_expires", "infrastructure_id", "exit_code", "created", "idempotency_key",
)  # fmt: skip
SELECT = f"SELECT {', '.join(COLUMNS)} FROM flow_runs"
ACTIVE_SQL = "('PENDING', 'RUNNING', 'CANCELLING')"
# Fields a caller may set along with a state change; the rest are owned by the store.
SETTABLE_FIELDS = frozenset(
    {
        "start_time",
        "end_time",
        "exit_code",
        "infrastructure_id",
        "worker_name",
        "lease_expires",
        "scheduled_time",
    }
)


# Decides whether a run that has just become CRASHED is queued again: (the crashed run, its previous state) ->
# (when it is due, the state message), or None to leave it CRASHED. deploytool.crashretry.plan makes these.


def run_from_row(row: Row) -> FlowRun:
    return FlowRun(
        id=row["id"],
        name=row["name"],
        deployment_id=row["deployment_id"],
        flow_name=row["flow_name"],
        deployment_name=row["deployment_name"],
        pool_name=row["pool_name"],
        queue_name=row["queue_name"],
        parameters=load(row["parameters"]),
        job_variables=load(row["job_variables"]),
        state=RunState(row["state"]),
        state_message=row["state_message"],
        scheduled_time=dt(row["scheduled_time"]),
        start_time=dt_or_none(row["start_time"]),
        end_time=dt_or_none(row["end_time"]),
        attempt=row["attempt"],
        worker_name=row["worker_name"],
        lease_expires=dt_or_none(row["lease_expires"]),
        infrastructure_id=row["infrastructure_id"],
        exit_code=row["exit_code"],
        created=dt(row["created"]),
        idempotency_key=row["idempotency_key"],
    )


def run_values(run: FlowRun) -> tuple[object, ...]:
    return (
        run.id, run.name, run.deployment_id, run.flow_name, run.deployment_name, run.pool_name,
        run.queue_name, dump(run.parameters), dump(run.job_variables), run.state.value, run.state_message,
        ts(run.scheduled_time), ts_or_none(run.start_time), ts_or_none(run.end_time), run.attempt,
        run.worker_name, ts_or_none(run.lease_expires), run.infrastructure_id, run.exit_code, ts(run.created),
        run.idempotency_key,
    )  # fmt: skip


def newest_runs(db: Database, where: Sequence[str], args: Sequence[object], limit: int) -> list[FlowRun]:
    """At most `limit` runs matching every condition of `where` (with their `args`), the newest first (by creation,
    then by insertion)."""
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with db.read() as conn:
        rows = conn.execute(
            f"{SELECT}{clause} ORDER BY created DESC, {db.dialect.insertion_order} DESC LIMIT ?", (*args, limit)
        ).fetchall()
    return [run_from_row(r) for r in rows]


def check_transition(run: FlowRun, new: RunState, *, retry: bool = False) -> None:
    """Refuse (ConflictError) a state change that `ALLOWED_TRANSITIONS` does not allow.

    Leaving a terminal state (back to SCHEDULED) needs `retry=True`, and `retry=True` needs a terminal state.
    """
    label = f"flow run {run.name!r}" if run.name else f"flow run {run.id}"
    if retry and run.state not in TERMINAL:
        raise ConflictError(
            f"{label} is {run.state}; only a finished run can be retried",
            hint="cancel it first, or wait for it",
        )
    if new not in ALLOWED_TRANSITIONS[run.state] or (run.state in TERMINAL and not retry):
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[run.state])) if run.state not in TERMINAL else "none"
        raise ConflictError(
            f"{label} is {run.state} and cannot become {new}",
            hint=f"from {run.state} it can become: {allowed}"
            + ("; a finished run can only be retried" if run.state in TERMINAL else ""),
        )


def check_holder(run: FlowRun, worker_name: str, attempt: int | None = None) -> None:
    """ConflictError unless `worker_name` holds the run's lease: the run is active, the worker's, at `attempt` (if
    given). Only the holder records a run's states, its final state included (set_state's `expect_worker`)."""
    if run.state in ACTIVE and run.worker_name == worker_name and (attempt is None or run.attempt == attempt):
        return
    raise ConflictError(
        f"flow run {run.name!r} is no longer held by worker {worker_name!r}"
        f" (it is {run.state} at attempt {run.attempt}, worker {run.worker_name or 'none'})",
        hint="its lease expired and it was recovered; this worker must stop it",
    )


def has_room(conn: Connection, limit: int | None, where: str, *args: object) -> bool:
    """True if fewer than `limit` runs matching `where` hold a slot (no limit: always)."""
    if limit is None:
        return True
    busy = conn.execute(f"SELECT count(*) FROM flow_runs WHERE {where} AND state IN {ACTIVE_SQL}", args)
    return int(busy.fetchone()[0]) < limit


def any_expired(db: Database, now: str) -> bool:
    """True if an active run's lease expired before `now`."""
    with db.read() as conn:
        return (
            conn.execute(
                f"SELECT 1 FROM flow_runs WHERE state IN {ACTIVE_SQL} AND lease_expires < ? LIMIT 1", (now,)
            ).fetchone()
            is not None
        )


def any_due(db: Database, pool_name: str, now: str) -> bool:
    """True if the pool has a due SCHEDULED run (walks the claim index); NotFoundError if the pool does not exist."""
    with db.read() as conn:
        found = conn.execute(
            "SELECT (SELECT 1 FROM work_pools WHERE name = ?) AS pool, (SELECT 1 FROM flow_runs WHERE pool_name = ?"
            " AND queue_name IN (SELECT name FROM work_queues WHERE pool_name = ?) AND state = 'SCHEDULED'"
            " AND scheduled_time <= ? LIMIT 1) AS due",
            (pool_name, pool_name, pool_name, now),
        ).fetchone()
    if found["pool"] is None:
        raise pool_not_found(pool_name)
    return found["due"] is not None


def open_queues(conn: Connection, pool_name: str, queue_names: Sequence[str] | None) -> list[Row]:
    """The pool's unpaused queues (of `queue_names`, if given), by priority."""
    sql = "SELECT name, concurrency_limit FROM work_queues WHERE pool_name = ? AND paused = 0"
    args: list[object] = [pool_name]
    if queue_names is not None:
        sql += f" AND name IN ({', '.join('?' * len(queue_names))})"
        args.extend(queue_names)
    return conn.execute(sql + " ORDER BY priority, name", args).fetchall()


def set_job_id(db: Database, run_id: str, worker_name: str, infrastructure_id: str) -> bool:
    """FlowRunRepository.set_infrastructure_id: only while `worker_name` holds the active run."""
    sql = f"UPDATE flow_runs SET infrastructure_id = ? WHERE id = ? AND worker_name = ? AND state IN {ACTIVE_SQL}"
    with db.transaction() as conn:
        return bool(conn.execute(sql, (infrastructure_id, run_id, worker_name)).rowcount == 1)
