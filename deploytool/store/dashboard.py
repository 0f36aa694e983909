"""Read queries of the web dashboard (deploytool ui): run counts per hour, late runs, failing deployments,
runs held per worker and run lists filtered by time.

Read-only and bounded: every query reads an index range or returns at most `limit` rows, so the dashboard
answers in milliseconds with 100,000 runs in the store (benchmarks/bench_ui.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from deploytool.models import FlowRun, LogLine, RunState
from deploytool.store.dashboard_api import FailingDeployment, HourCount
from deploytool.store.rows import dt, ts
from deploytool.store.run_rows import ACTIVE_SQL, SELECT, newest_runs, run_from_row
from deploytool.store.sql import Database

_STATES_SQL = ", ".join(f"'{s.value}'" for s in RunState)
_FAILED_SQL = "('FAILED', 'CRASHED')"
FAILURE_SCAN = 2000  # failing_deployments counts at most this many of the latest failures


class DashboardQueries:
    """The dashboard's aggregate reads (store.api.DashboardRepository) in the SQL both backends share."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def counts_per_hour(self, since: datetime, hours: int = 24) -> list[HourCount]:
        """Runs created in each of `hours` hours from `since` (an hour's start), counted by current state."""
        # One count per hour over the covering (state, created) index: no table row is read, and no grouping
        # by a computed hour (which was 3x slower with 100,000 runs; benchmarks/bench_ui.py).
        counts: list[HourCount] = []
        with self._db.read() as conn:
            for i in range(hours):
                start = since + timedelta(hours=i)
                rows = conn.execute(
                    f"SELECT state, count(*) FROM flow_runs WHERE state IN ({_STATES_SQL})"
                    " AND created >= ? AND created < ? GROUP BY state",
                    (ts(start), ts(start + timedelta(hours=1))),
                ).fetchall()
                hour = ts(start)[:13]
                counts.extend(HourCount(hour, RunState(state), count) for state, count in rows)
        return counts

    def late_runs(self, scheduled_before: datetime, limit: int) -> list[FlowRun]:
        """SCHEDULED runs due before `scheduled_before`, the longest overdue first."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"{SELECT} WHERE state = 'SCHEDULED' AND scheduled_time < ? ORDER BY scheduled_time LIMIT ?",
                (ts(scheduled_before), limit),
            ).fetchall()
        return [run_from_row(r) for r in rows]

    def failing_deployments(self, since: datetime, limit: int, scan: int = FAILURE_SCAN) -> list[FailingDeployment]:
        """Deployments with FAILED or CRASHED runs created since `since`, the most failures first. Only the latest
        `scan` failures are counted, so the cost is bounded however many runs failed."""
        with self._db.read() as conn:
            # The inner query reads only the (state, created) index; table rows are read for `scan` runs at most.
            order = self._db.dialect.insertion_order
            rows = conn.execute(
                "SELECT r.deployment_id, r.flow_name, r.deployment_name, count(*) AS failed, max(r.created) AS last"
                f" FROM (SELECT {order} AS k FROM flow_runs WHERE state IN {_FAILED_SQL} AND created >= ?"
                f"  ORDER BY created DESC LIMIT ?) AS latest JOIN flow_runs AS r ON r.{order} = latest.k"
                " GROUP BY r.deployment_id, r.flow_name, r.deployment_name ORDER BY failed DESC, last DESC LIMIT ?",
                (ts(since), scan, limit),
            ).fetchall()
        return [FailingDeployment(r[0], r[1], r[2], r[3], dt(r[4])) for r in rows]

    def log_tail(self, run_id: str, limit: int) -> tuple[list[LogLine], int]:
        """The last `limit` log lines of a run (oldest first) and how many lines it has."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT id, run_id, time, level, source, message FROM logs WHERE run_id = ? ORDER BY id DESC LIMIT ?",
                (run_id, limit),
            ).fetchall()
            total = int(conn.execute("SELECT count(*) FROM logs WHERE run_id = ?", (run_id,)).fetchone()[0])
        lines = [LogLine(r["run_id"], dt(r["time"]), r["level"], r["source"], r["message"], r["id"]) for r in rows]
        return lines[::-1], total

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
        scheduled_before: datetime | None = None,
        limit: int = 50,
    ) -> list[FlowRun]:
        """The newest runs first (by creation), filtered by state(s), deployment, pool, creation time and (for
        late runs) scheduled time."""
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
            # `|| ''` keeps the planner off the (pool_name, state) index: a pool holds most runs, and walking the
            # creation index newest first stops after `limit` rows instead of sorting the whole pool.
            where.append("pool_name || '' = ?")
            args.append(pool_name)
        if scheduled_before is not None:
            where.append("scheduled_time < ?")
            args.append(ts(scheduled_before))
        if created_since is not None:
            where.append("created >= ?")
            args.append(ts(created_since))
        if created_until is not None:
            where.append("created < ?")
            args.append(ts(created_until))
        return newest_runs(self._db, where, args, limit)
