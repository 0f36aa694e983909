"""Plain data: the things deploytool stores and passes between layers.

Frozen records (deploytool.records: dataclasses to callers and type checkers, cheaper to import) and enums only,
no I/O, stdlib only. Every time is a timezone-aware UTC datetime; the
store rejects naive ones. Ids are random hex strings made here, so a caller knows an id before storing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from enum import StrEnum

from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `import typing` costs every command a few ms
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only kind deploytool stores)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random id (32 hex characters) for a deployment or a flow run: a random UUID (version 4), as
    `uuid.uuid4().hex` gives it, without importing uuid (which loads platform and ctypes helpers)."""
    data = bytearray(os.urandom(16))
    data[6] = (data[6] & 0x0F) | 0x40  # version 4
    data[8] = (data[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return data.hex()


def this_host() -> str:
    """The name of this host as workers record it: the kernel's node name, which `socket.gethostname()` returns
    too, without loading socket into every command that reads the store."""
    return os.uname().nodename


class RunState(StrEnum):
    """The state of a flow run. `LATE` is not a state: it is a label for a SCHEDULED run that is overdue."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"  # claimed by a worker, infrastructure not started yet
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"  # the infrastructure or the worker failed; the flow's outcome is unknown
    CANCELLING = "CANCELLING"  # cancel asked; the worker is stopping the process or container
    CANCELLED = "CANCELLED"


TERMINAL: frozenset[RunState] = frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CRASHED, RunState.CANCELLED})

# States in which a run holds a worker's lease and a concurrency slot.
ACTIVE: frozenset[RunState] = frozenset({RunState.PENDING, RunState.RUNNING, RunState.CANCELLING})

# The one table of allowed transitions. The store checks every state change against it.
# A terminal state may go back to SCHEDULED only through an explicit retry (`retry=True` in the store).
ALLOWED_TRANSITIONS: Mapping[RunState, frozenset[RunState]] = {
    RunState.SCHEDULED: frozenset({RunState.PENDING, RunState.CANCELLED}),
    RunState.PENDING: frozenset(
        {
            RunState.RUNNING,
            RunState.SCHEDULED,  # lease recovery: the worker died before starting it
            RunState.CANCELLING,  # the worker may already be starting infrastructure: let it stop it
            RunState.CANCELLED,
            RunState.CRASHED,
            RunState.FAILED,
        }
    ),
    RunState.RUNNING: frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CRASHED, RunState.CANCELLING}),
    RunState.CANCELLING: frozenset({RunState.CANCELLED, RunState.CRASHED, RunState.COMPLETED, RunState.FAILED}),
    RunState.COMPLETED: frozenset({RunState.SCHEDULED}),
    RunState.FAILED: frozenset({RunState.SCHEDULED}),
    RunState.CRASHED: frozenset({RunState.SCHEDULED}),
    RunState.CANCELLED: frozenset({RunState.SCHEDULED}),
}


class WorkerStatus(StrEnum):
    """A worker as `worker ls`, `work-pool inspect` and the dashboard show it (deploytool.store.worker_status)."""

    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"


class PoolStatus(StrEnum):
    """A work pool's status: READY while one of its workers is online (deploytool.store.worker_status), PAUSED while
    paused."""

    READY = "READY"
    NOT_READY = "NOT_READY"
    PAUSED = "PAUSED"


@record
class WorkPool:
    """A named place runs are sent to; `type` picks the infrastructure (process, docker)."""

    name: str
    type: str
    base_job_template: dict[str, Any] = field(default_factory=dict)
    concurrency_limit: int | None = None
    paused: bool = False
    description: str | None = None
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)


DEFAULT_QUEUE = "default"


@record
class WorkQueue:
    """A queue within a pool. A lower `priority` number is served first."""

    pool_name: str
    name: str
    priority: int = 1
    concurrency_limit: int | None = None
    paused: bool = False
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)


@record
class Deployment:
    """A registered deployment, unique by (flow_name, name) with `_` and `-` in the flow name treated alike.

    `concurrency_limit` is None or a mapping such as {"limit": 1, "collision_strategy": "ENQUEUE"}
    (`ENQUEUE` waits for a slot, `CANCEL_NEW` cancels a run that would exceed the limit).
    """

    flow_name: str
    name: str
    entrypoint: str
    pool_name: str
    queue_name: str = DEFAULT_QUEUE
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_schema: dict[str, Any] = field(default_factory=dict)
    job_variables: dict[str, Any] = field(default_factory=dict)
    pull_steps: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    version: str | None = None
    description: str | None = None
    concurrency_limit: dict[str, Any] | None = None
    # Retrying CRASHED runs: None, or {"max": 3, "backoff_seconds": 30, "max_backoff_seconds": 600}
    # (deploytool.crashretry reads it; docs/concurrency-and-retries.md).
    crash_retries: dict[str, Any] | None = None
    enforce_parameter_schema: bool = True
    paused: bool = False
    source_file: str | None = None
    content_hash: str | None = None
    catch_up: str = "latest"  # runs missed while nothing ran: "all", "latest" or "none" (docs/schedules.md)
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"


@record
class FlowRun:
    """One run of a deployment's flow. `deployment_id` becomes None if the deployment is deleted later."""

    flow_name: str
    deployment_name: str
    pool_name: str
    deployment_id: str | None
    name: str = ""
    queue_name: str = DEFAULT_QUEUE
    parameters: dict[str, Any] = field(default_factory=dict)
    job_variables: dict[str, Any] = field(default_factory=dict)
    state: RunState = RunState.SCHEDULED
    state_message: str | None = None
    scheduled_time: datetime = field(default_factory=utcnow)
    start_time: datetime | None = None
    end_time: datetime | None = None
    attempt: int = 1
    worker_name: str | None = None
    lease_expires: datetime | None = None
    infrastructure_id: str | None = None
    exit_code: int | None = None
    idempotency_key: str | None = None
    id: str = field(default_factory=new_id)
    created: datetime = field(default_factory=utcnow)

    def is_late(self, now: datetime, grace_seconds: float = 15.0) -> bool:
        """True for a SCHEDULED run more than `grace_seconds` past its scheduled time (Prefect's "Late")."""
        return self.state is RunState.SCHEDULED and (now - self.scheduled_time).total_seconds() > grace_seconds


@record
class RunCounts:
    """How many runs of a pool wait (SCHEDULED) and how many hold a slot (PENDING, RUNNING, CANCELLING)."""

    queued: int = 0
    running: int = 0


@record
class LogLine:
    """One line of a run's log. `id` is assigned by the store and increases, so readers can follow."""

    run_id: str
    time: datetime
    level: str  # "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"
    source: str  # who wrote it: "worker", "engine", "stdout", "stderr"
    message: str
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The line as JSON output and the dashboard's API give it."""
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "level": self.level,
            "source": self.source,
            "message": self.message,
        }


@record
class TaskRun:
    """One task run of a flow run, as the engine reported it: RUNNING, then COMPLETED or FAILED.

    `id` is the engine's; `attempts` counts the attempts so far; `message` is the error of a FAILED one.
    """

    id: str
    flow_run_id: str
    name: str
    task_name: str
    state: str
    start_time: datetime
    attempts: int = 1
    end_time: datetime | None = None
    duration_seconds: float | None = None
    message: str | None = None
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The task run as `flow-run inspect -o json` and the dashboard's API give it."""
        return {
            "id": self.id,
            "name": self.name,
            "task_name": self.task_name,
            "state": self.state,
            "attempts": self.attempts,
            "start_time": self.start_time.isoformat(),
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "duration_seconds": self.duration_seconds,
            "message": self.message,
            "tags": list(self.tags),
        }


@record
class WorkerHeartbeat:
    """A worker process as last seen through its heartbeat; unique by (pool_name, name). (The worker itself is
    deploytool.worker.loop.Worker.)"""

    name: str
    pool_name: str
    host: str
    pid: int
    last_heartbeat: datetime
    # Why it cannot take runs although it beats (its Docker daemon does not answer); None when it can.
    problem: str | None = None
    # How long its heartbeat counts: its lease (3 heartbeats); None for a default lease (a record of schema < 8).
    lease_seconds: float | None = None


@record
class Variable:
    """A named JSON value, referenced in templates as `{{ prefect.variables.<name> }}`."""

    name: str
    value: Any
    updated: datetime = field(default_factory=utcnow)

    def to_dict(self) -> dict[str, Any]:
        """The variable as `variable get/ls -o json` gives it."""
        return {"name": self.name, "value": self.value, "updated": self.updated.isoformat()}


@record
class Block:
    """A named configuration document of a type (e.g. docker-registry-credentials/prod).

    `secret_fields` names the keys of `data` that must never be printed or copied into stored job config.
    """

    type: str
    name: str
    data: dict[str, Any] = field(default_factory=dict)
    secret_fields: list[str] = field(default_factory=list)
    updated: datetime = field(default_factory=utcnow)
