"""Task runs of flow runs: recorded by the worker from its job's events, listed by `flow-run inspect`."""

from __future__ import annotations

from collections.abc import Sequence

from deploytool.models import TaskRun
from deploytool.store.rows import dt, dt_or_none, dump, load, ts, ts_or_none
from deploytool.store.sql import Database, Row


def _from_row(row: Row) -> TaskRun:
    return TaskRun(
        id=row["id"],
        flow_run_id=row["flow_run_id"],
        name=row["name"],
        task_name=row["task_name"],
        state=row["state"],
        start_time=dt(row["start_time"]),
        attempts=row["attempts"],
        end_time=dt_or_none(row["end_time"]),
        duration_seconds=row["duration_seconds"],
        message=row["message"],
        tags=tuple(load(row["tags"]) or ()),
    )


class TaskRunRepo:
    """Task runs, keyed by the engine's id; a later report of the same task run replaces the earlier one."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, task_runs: Sequence[TaskRun]) -> None:
        """Insert or update the task runs in one transaction (their flow runs must exist)."""
        if not task_runs:
            return
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO task_runs (id, flow_run_id, name, task_name, state, attempts, start_time, end_time,"
                " duration_seconds, message, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,"
                " end_time = excluded.end_time, duration_seconds = excluded.duration_seconds,"
                " message = excluded.message",
                [
                    (
                        t.id,
                        t.flow_run_id,
                        t.name,
                        t.task_name,
                        t.state,
                        t.attempts,
                        ts(t.start_time),
                        ts_or_none(t.end_time),
                        t.duration_seconds,
                        t.message,
                        dump(list(t.tags)),
                    )
                    for t in task_runs
                ],
            )

    def list(self, flow_run_id: str) -> list[TaskRun]:
        """The task runs of a flow run, in the order they started."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM task_runs WHERE flow_run_id = ? ORDER BY start_time, id", (flow_run_id,)
            ).fetchall()
        return [_from_row(r) for r in rows]
