"""What each page of the web dashboard shows, as typed results (core.dashboard makes them): each has a `to_dict()`
that is the document the dashboard's JSON API sends (docs/ui.md; times as ISO 8601) and its pages render.

They are built from the CLI's own results (RunSummary, RunDetail, PoolSummary, PoolDetail, DeploymentDetail,
Explanation) with what only the dashboard shows added: status reasons, runs per hour, state histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deploytool.core.deployments import DeploymentDetail
from deploytool.core.pool_listing import PoolDetail, PoolSummary
from deploytool.core.run_summary import RunDetail, RunSummary
from deploytool.core.why import Explanation
from deploytool.jobvars import ValueSource
from deploytool.models import LogLine


@dataclass(frozen=True)
class FailingDeploymentSummary:
    """A deployment with FAILED or CRASHED runs in the overview's window: how many, and the last one's time."""

    deployment: str  # FLOW/NAME
    deployment_id: str | None
    failed: int
    last_failure: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "deployment_id": self.deployment_id,
            "failed": self.failed,
            "last_failure": self.last_failure.isoformat(),
        }


@dataclass(frozen=True)
class Overview:
    """The overview page: runs per state for each of the last hours (by creation), late runs, failing
    deployments and every pool."""

    now: datetime
    hours: list[datetime]
    runs_per_state: dict[str, list[int]]  # state -> one count per hour of `hours`
    late_runs: list[RunSummary]
    failing_deployments: list[FailingDeploymentSummary]
    work_pools: list[PoolSummary]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: GET /api/v1/overview."""
        return {
            "now": self.now.isoformat(),
            "hours": [h.isoformat() for h in self.hours],
            "runs_per_state": self.runs_per_state,
            "totals": {state: sum(counts) for state, counts in self.runs_per_state.items()},
            "late_runs": [r.to_dict() for r in self.late_runs],
            "failing_deployments": [f.to_dict() for f in self.failing_deployments],
            "work_pools": [p.to_dict() for p in self.work_pools],
        }


@dataclass(frozen=True)
class PoolRow:
    """A row of the pools page: the pool as `work-pool ls` shows it, and why it has its status."""

    summary: PoolSummary
    status_reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: a row of GET /api/v1/work-pools (`work-pool ls -o json`'s row and `status_reason`)."""
        return {**self.summary.to_dict(), "status_reason": self.status_reason}


@dataclass(frozen=True)
class TemplateVariable:
    """A variable of a base job template as the pool page lists it."""

    name: str
    type: Any  # the schema's `type` (a name or a list of names), "any" when it has none
    default: Any
    description: str | None
    required: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "description": self.description,
            "required": self.required,
        }


@dataclass(frozen=True)
class PoolPage:
    """A pool's page: `work-pool inspect`, each worker's runs held, why the pool has its status, its
    deployments (FLOW/NAME) and its template's variables."""

    detail: PoolDetail
    runs_held: dict[str, int]  # worker name -> active runs it holds
    status_reason: str
    deployments: list[str]
    variables: list[TemplateVariable]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: GET /api/v1/work-pools/{name} (`work-pool inspect -o json`'s keys first)."""
        data = self.detail.to_dict()
        data["workers"] = [{**w.to_dict(), "runs_held": self.runs_held.get(w.name, 0)} for w in self.detail.workers]
        return {
            **data,
            "status_reason": self.status_reason,
            "deployments": self.deployments,
            "variables": [v.to_dict() for v in self.variables],
        }


@dataclass(frozen=True)
class DeploymentPage:
    """A deployment's page: `deployment inspect`, its final job configuration with where each value came from
    (`deployment render --explain`; or why it cannot be rendered), its recent runs and its pool's status."""

    detail: DeploymentDetail
    job_configuration: list[ValueSource]
    job_configuration_error: str | None
    recent_runs: list[RunSummary]
    pool_status: str | None  # None when the pool is gone

    @property
    def full_name(self) -> str:
        return self.detail.deployment.full_name

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: GET /api/v1/deployments/{flow}/{name} (`deployment inspect -o json`'s keys first)."""
        return {
            **self.detail.to_dict(),
            "full_name": self.full_name,
            "job_configuration": [
                {"path": r.path, "value": r.value, "source": r.source} for r in self.job_configuration
            ],
            "job_configuration_error": self.job_configuration_error,
            "recent_runs": [r.to_dict() for r in self.recent_runs],
            "pool_status": self.pool_status,
        }


@dataclass(frozen=True)
class StateChange:
    """A row of a run's state history: a state, when the run entered it (None when the store has no time for
    it) and what happened."""

    state: str
    time: datetime | None
    message: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "time": self.time.isoformat() if self.time else None, "message": self.message}


@dataclass(frozen=True)
class RunPage:
    """A run's page: `flow-run inspect` and `flow-run why`, its state history and its last log lines (with the id
    of the last one, where the live stream goes on)."""

    detail: RunDetail
    why: Explanation
    state_history: list[StateChange]
    terminal: bool
    deployment_exists: bool
    logs: list[LogLine]  # the last lines; `detail.log_lines` counts them all
    last_log_id: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: GET /api/v1/flow-runs/{id} (`flow-run inspect -o json`'s keys first)."""
        return {
            **self.detail.to_dict(),
            "why": self.why.to_dict(),
            "state_history": [s.to_dict() for s in self.state_history],
            "terminal": self.terminal,
            "deployment_exists": self.deployment_exists,
            "logs": [line.to_dict() for line in self.logs],
            "last_log_id": self.last_log_id,
        }


@dataclass(frozen=True)
class RunUpdate:
    """One poll of a followed run: the run as it is, and its log lines after the cursor."""

    run: RunSummary
    lines: list[LogLine]
    terminal: bool
    cursor: int
