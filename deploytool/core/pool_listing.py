"""Work pools as `work-pool ls` and `work-pool inspect` show them (and queues as `work-queue ls` does): typed
results whose `to_dict()` is the JSON of `--output json` and of the dashboard's API (times as ISO 8601)."""

from __future__ import annotations

from datetime import datetime

from deploytool.core.pools import get_pool
from deploytool.models import PoolStatus, RunCounts, WorkerHeartbeat, WorkerStatus, WorkPool, WorkQueue, this_host
from deploytool.records import record
from deploytool.store import Store, pool_readiness, worker_status

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


@record
class QueueSummary:
    """A queue with its status: PAUSED when it is paused, else its pool's status."""

    pool: str
    name: str
    priority: int
    concurrency_limit: int | None
    paused: bool
    status: str
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, queue: WorkQueue, pool_status: str) -> QueueSummary:
        return cls(
            pool=queue.pool_name,
            name=queue.name,
            priority=queue.priority,
            concurrency_limit=queue.concurrency_limit,
            paused=queue.paused,
            status=PoolStatus.PAUSED.value if queue.paused else pool_status,
            created=queue.created,
            updated=queue.updated,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: a row of `work-queue ls -o json`."""
        return {
            "pool": self.pool,
            "name": self.name,
            "priority": self.priority,
            "concurrency_limit": self.concurrency_limit,
            "paused": self.paused,
            "status": self.status,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
        }


@record
class PoolSummary:
    """A pool as `work-pool ls` shows it: its status and how many runs are queued and running."""

    name: str
    type: str
    status: PoolStatus
    paused: bool
    concurrency_limit: int | None
    queued: int
    running: int
    description: str | None
    created: datetime
    updated: datetime
    problem: str | None = None  # NOT_READY: why each of its workers takes no runs (stale, or its Docker daemon...)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: a row of `work-pool ls -o json`."""
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status.value,
            "problem": self.problem,
            "paused": self.paused,
            "concurrency_limit": self.concurrency_limit,
            "queued": self.queued,
            "running": self.running,
            "description": self.description,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
        }


@record
class WorkerSummary:
    """A worker of a pool as its last heartbeat left it: its status as `worker ls` shows it (online, stale,
    offline: deploytool.store.worker_status), and `online` when that is online."""

    name: str
    host: str
    pid: int
    last_heartbeat: datetime
    online: bool
    status: WorkerStatus
    problem: str | None = None  # what its last heartbeat said keeps it from taking runs

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "last_heartbeat": self.last_heartbeat.isoformat(),
            "online": self.online,
            "status": self.status.value,
            "problem": self.problem,
        }


@record
class PoolDetail:
    """A pool as `work-pool inspect` shows it: its summary, queues, workers and base job template."""

    summary: PoolSummary
    queues: list[QueueSummary]
    workers: list[WorkerSummary]
    base_job_template: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the `data` of `work-pool inspect -o json`."""
        pool = self.summary
        return {
            "name": pool.name,
            "type": pool.type,
            "description": pool.description,
            "status": pool.status.value,
            "problem": pool.problem,
            "paused": pool.paused,
            "concurrency_limit": pool.concurrency_limit,
            "queued": pool.queued,
            "running": pool.running,
            "created": pool.created.isoformat(),
            "updated": pool.updated.isoformat(),
            "queues": [q.to_dict() for q in self.queues],
            "workers": [w.to_dict() for w in self.workers],
            "base_job_template": self.base_job_template,
        }


def list_pools(store: Store, now: datetime | None = None) -> list[PoolSummary]:
    """One summary per pool: name, type, status, paused, concurrency limit, queued and running counts."""
    now = now or store.now()  # the clock the workers' heartbeats were written by
    counts = store.runs.counts()
    workers: dict[str, list[WorkerHeartbeat]] = {}
    for worker in store.workers.list():
        workers.setdefault(worker.pool_name, []).append(worker)
    here = this_host()
    return [_summary(pool, counts.get(pool.name), workers.get(pool.name, []), now, here) for pool in store.pools.list()]


def _summary(
    pool: WorkPool, count: RunCounts | None, workers: list[WorkerHeartbeat], now: datetime, here: str
) -> PoolSummary:
    status, problem = pool_readiness(pool.paused, workers, now, here)  # the rule of `worker ls` too
    return PoolSummary(
        name=pool.name,
        type=pool.type,
        status=status,
        paused=pool.paused,
        concurrency_limit=pool.concurrency_limit,
        queued=count.queued if count else 0,
        running=count.running if count else 0,
        description=pool.description,
        created=pool.created,
        updated=pool.updated,
        problem=problem,
    )


def inspect_pool(store: Store, name: str, now: datetime | None = None) -> PoolDetail:
    """A pool's full detail: its summary, base job template, queues and workers (with `online`)."""
    now = now or store.now()
    pool = get_pool(store, name)
    workers = store.workers.list(name)
    here = this_host()
    summary = _summary(pool, store.runs.counts().get(name), workers, now, here)
    return PoolDetail(
        summary=summary,
        queues=[QueueSummary.of(q, summary.status.value) for q in store.queues.list(name)],
        workers=[_worker(w, now, here) for w in workers],
        base_job_template=pool.base_job_template,
    )


def _worker(worker: WorkerHeartbeat, now: datetime, here: str) -> WorkerSummary:
    status = worker_status(worker, now, here)  # the rule of `worker ls` too
    online = status is WorkerStatus.ONLINE
    return WorkerSummary(worker.name, worker.host, worker.pid, worker.last_heartbeat, online, status, worker.problem)
