"""Read queries of the web dashboard (deploytool ui): run counts per hour, late runs, failing deployments,
runs held per worker and run lists filtered by time.

Read-only and bounded: every query reads an index range or returns at most `limit` rows, so the dashboard
answers in milliseconds with 100,000 runs in the store (benchmarks/bench_ui.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from deploytool.models import FlowRun, RunState
from deploytool.store.dashboard_api import FailingDeployment, HourCount
from deploytool.store.rows import dt, ts
from deploytool.store.run_rows import ACTIVE_SQL, SELECT, run_from_row
from deploytool.store.sql import Database

_STATES_SQL = ", ".join(f"'{s.value}'" for s in RunState)
_FAILED_SQL = "('FAILED', 'CRASHED')"


class DashboardQueries:
    """The dashboard's aggregate reads (store.api.DashboardRepository) in the SQL both backends share."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def counts_per_hour(self, since: datetime) -> list[HourCount]:
        """Runs created at or after `since`, counted by hour of creation and current state."""
        # The (state, created) index covers the query: no table row is read (benchmarks/bench_ui.py).
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT substr(created, 1, 13) AS hour, state, count(*) FROM flow_runs"
                f" WHERE state IN ({_STATES_SQL}) AND created >= ?"
                " GROUP BY hour, state",
                (ts(since),),
            ).fetchall()
        return [HourCount(hour, RunState(state), count) for hour, state, count in rows]

    def late_runs(self, scheduled_before: datetime, limit: int) -> list[FlowRun]:
        """SCHEDULED runs due before `scheduled_before`, the longest overdue first."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"{SELECT} WHERE state = 'SCHEDULED' AND scheduled_time < ? ORDER BY scheduled_time LIMIT ?",
                (ts(scheduled_before), limit),
            ).fetchall()
        return [run_from_row(r) for r in rows]

    def failing_deployments(self, since: datetime, limit: int) -> list[FailingDeployment]:
        """Deployments with FAILED or CRASHED runs created since `since`, the most failures first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT deployment_id, flow_name, deployment_name, count(*) AS failed, max(created) AS last"
                f" FROM flow_runs WHERE state IN {_FAILED_SQL} AND created >= ?"
                " GROUP BY deployment_id, flow_name, deployment_name ORDER BY failed DESC, last DESC LIMIT ?",
                (ts(since), limit),
            ).fetchall()
        return [FailingDeployment(r[0], r[1], r[2], r[3], dt(r[4])) for r in rows]

    def runs_held(self, pool_name: str) -> dict[str, int]:
        """Per worker name: how many active runs (PENDING, RUNNING, CANCELLING) of the pool it holds."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT worker_name, count(*) FROM flow_runs WHERE state IN {ACTIVE_SQL} AND pool_name = ?"
                " AND worker_name IS NOT NULL GROUP BY worker_name",
                (pool_name,),
            ).fetchall()
        return dict(rows)

    def runs(
        self,
        *,
        states: Iterable[RunState] = (),
        deployment_id: str | None = None,
        pool_name: str | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        limit: int = 50,
    ) -> list[FlowRun]:
        """The newest runs first (by creation), filtered by state(s), deployment, pool and creation time."""
        where: list[str] = []
        args: list[object] = []
        wanted = list(states)
        if wanted:
            where.append(f"state IN ({', '.join('?' * len(wanted))})")
            args.extend(s.value for s in wanted)
        if deployment_id is not None:
            where.append("deployment_id = ?")
            args.append(deployment_id)
        if pool_name is not None:
            where.append("pool_name = ?")
            args.append(pool_name)
        if created_since is not None:
            where.append("created >= ?")
            args.append(ts(created_since))
        if created_until is not None:
            where.append("created < ?")
            args.append(ts(created_until))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._db.read() as conn:
            rows = conn.execute(
                f"{SELECT}{clause} ORDER BY created DESC, {self._db.dialect.insertion_order} DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [run_from_row(r) for r in rows]
