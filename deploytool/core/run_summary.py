"""A flow run summarised as `flow-run ls` shows it (RunSummary) and in full as `flow-run inspect` shows it
(RunDetail), each with its JSON (`to_dict`)."""

from __future__ import annotations

from datetime import datetime

from deploytool.models import FlowRun, RunState, TaskRun, utcnow
from deploytool.records import record

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

LATE = "LATE"  # a label, not a state: a SCHEDULED run past its scheduled time (FlowRun.is_late)


@record
class RunSummary:
    """A run as `flow-run ls` shows it; `label` is LATE for an overdue SCHEDULED run, else the state."""

    id: str
    name: str
    deployment: str
    deployment_id: str | None
    pool: str
    queue: str
    state: RunState
    label: str
    state_message: str | None
    scheduled_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    duration_seconds: float | None
    attempt: int
    worker: str | None

    @classmethod
    def of(cls, run: FlowRun, now: datetime | None = None) -> RunSummary:
        now = now or utcnow()
        return cls(
            id=run.id,
            name=run.name,
            deployment=f"{run.flow_name}/{run.deployment_name}",
            deployment_id=run.deployment_id,
            pool=run.pool_name,
            queue=run.queue_name,
            state=run.state,
            label=LATE if run.is_late(now) else run.state.value,
            state_message=run.state_message,
            scheduled_time=run.scheduled_time,
            start_time=run.start_time,
            end_time=run.end_time,
            duration_seconds=duration_seconds(run, now),
            attempt=run.attempt,
            worker=run.worker_name,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO 8601): the row of `flow-run ls -o json`."""
        return {
            "id": self.id,
            "name": self.name,
            "deployment": self.deployment,
            "deployment_id": self.deployment_id,
            "pool": self.pool,
            "queue": self.queue,
            "state": self.state.value,
            "label": self.label,
            "state_message": self.state_message,
            "scheduled_time": self.scheduled_time.isoformat(),
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "duration_seconds": self.duration_seconds,
            "attempt": self.attempt,
            "worker": self.worker,
        }


@record
class RunDetail:
    """A run as `flow-run inspect` shows it: its summary, parameters, job variables, lease, exit code, how many
    log lines it has and its task runs (in the order they started)."""

    summary: RunSummary
    parameters: dict[str, Any]
    job_variables: dict[str, Any]
    idempotency_key: str | None
    lease_expires: datetime | None
    infrastructure_id: str | None
    exit_code: int | None
    created: datetime
    log_lines: int
    task_runs: list[TaskRun]

    @classmethod
    def of(cls, run: FlowRun, log_lines: int, task_runs: list[TaskRun], now: datetime | None = None) -> RunDetail:
        return cls(
            summary=RunSummary.of(run, now),
            parameters=run.parameters,
            job_variables=run.job_variables,
            idempotency_key=run.idempotency_key,
            lease_expires=run.lease_expires,
            infrastructure_id=run.infrastructure_id,
            exit_code=run.exit_code,
            created=run.created,
            log_lines=log_lines,
            task_runs=task_runs,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the `data` of `flow-run inspect -o json` (the summary's keys first)."""
        return {
            **self.summary.to_dict(),
            "parameters": self.parameters,
            "job_variables": self.job_variables,
            "idempotency_key": self.idempotency_key,
            "lease_expires": self.lease_expires.isoformat() if self.lease_expires else None,
            "infrastructure_id": self.infrastructure_id,
            "exit_code": self.exit_code,
            "created": self.created.isoformat(),
            "log_lines": self.log_lines,
            "task_runs": [t.to_dict() for t in self.task_runs],
        }


def duration_seconds(run: FlowRun, now: datetime | None = None) -> float | None:
    """How long the run has been running (or ran); None before it started."""
    if run.start_time is None:
        return None
    end = run.end_time or (now or utcnow())
    return round(max((end - run.start_time).total_seconds(), 0.0), 3)


def duration_text(seconds: float | None) -> str:
    """`12.3s`, `4m05s`, `1h02m03s`; empty for no duration."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
