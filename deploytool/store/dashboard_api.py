"""The store's contract for the web dashboard's aggregate reads (deploytool ui): `Store.dashboard`.

Kept beside store/api.py, which holds the other repositories' protocols; store/dashboard.py implements it in the
SQL both backends share.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime

from deploytool.models import FlowRun, LogLine, RunState
from deploytool.records import record
from deploytool.typeforms import Protocol


@record
class HourCount:
    """How many runs created in one hour (`hour`: 'YYYY-MM-DDTHH', UTC) are now in `state`."""

    hour: str
    state: RunState
    count: int


@record
class FailingDeployment:
    """A deployment with FAILED or CRASHED runs created since a time."""

    deployment_id: str | None
    flow_name: str
    deployment_name: str
    failed: int
    last_failure: datetime


class DashboardRepository(Protocol):
    """The web dashboard's aggregate reads (deploytool ui); each reads an index range or at most `limit` rows."""

    def counts_per_hour(self, since: datetime, hours: int = 24) -> builtins.list[HourCount]:
        """Runs created in each of `hours` hours from `since` (an hour's start), counted by current state."""

    def late_runs(self, scheduled_before: datetime, limit: int) -> builtins.list[FlowRun]:
        """SCHEDULED runs due before `scheduled_before`, the longest overdue first."""

    def failing_deployments(self, since: datetime, limit: int, scan: int = 2000) -> builtins.list[FailingDeployment]:
        """Deployments with FAILED or CRASHED runs created since `since`, the most failures first. Only the latest
        `scan` failures are counted, so the cost is bounded however many runs failed."""

    def log_tail(self, run_id: str, limit: int) -> tuple[builtins.list[LogLine], int]:
        """The last `limit` log lines of a run (oldest first) and how many lines it has."""

    def runs_held(self, pool_name: str) -> dict[str, int]:
        """Per worker name: how many active runs (PENDING, RUNNING, CANCELLING) of the pool it holds."""

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
    ) -> builtins.list[FlowRun]:
        """The newest runs first (by creation), filtered by state(s), deployment, pool, creation time and (for
        late runs) scheduled time."""
