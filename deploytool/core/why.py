"""`flow-run why ID`: why a run has not started (or what it is doing), in the claim's own terms.

For a SCHEDULED run every condition the claim checks is looked at, and each one that holds the run back
becomes a reason: not due yet, pool or queue paused, no worker polling the pool, a concurrency limit of the
pool, queue or deployment held by named runs. With none, the run is eligible. PENDING, RUNNING and CANCELLING
runs name their worker and lease; a finished run says so (and what its crash retry policy did).
"""

from __future__ import annotations

from datetime import datetime

from deploytool import crashretry
from deploytool.core.runs import resolve_run
from deploytool.errors import NotFoundError
from deploytool.models import ACTIVE, TERMINAL, Deployment, FlowRun, PoolStatus, RunState, WorkerStatus
from deploytool.records import field, record, replace
from deploytool.store import Store, pool_readiness, worker_status

TYPE_CHECKING = False  # not typing's: flow-run why reads the store like a listing (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

_MAX_HOLDERS = 1_000_000
ELIGIBLE = "eligible"


@record
class Reason:
    """One thing holding a run back (or, with `blocking=False`, worth knowing); `holders` are the runs that
    hold a concurrency limit."""

    code: str  # not_due, pool_paused, queue_paused, no_worker, pool_limit, queue_limit, deployment_limit, ...
    message: str
    blocking: bool = True
    holders: list[FlowRun] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message, "blocking": self.blocking}
        if self.holders:
            data["held_by"] = [
                {"id": r.id, "name": r.name, "state": r.state.value, "worker": r.worker_name} for r in self.holders
            ]
        return data


@record
class Explanation:
    """Why a run is in its state: `verdict` (a reason's code, `eligible`, `claimed`, `running`, `cancelling` or
    `finished`), a one-line `summary`, and the reasons."""

    id: str
    name: str
    deployment: str
    pool: str
    queue: str
    state: RunState
    scheduled_time: datetime
    attempt: int
    verdict: str
    summary: str
    reasons: list[Reason]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the `data` of `flow-run why -o json`."""
        return {
            "id": self.id,
            "name": self.name,
            "deployment": self.deployment,
            "pool": self.pool,
            "queue": self.queue,
            "state": self.state.value,
            "scheduled_time": self.scheduled_time.isoformat(),
            "attempt": self.attempt,
            "verdict": self.verdict,
            "summary": self.summary,
            "reasons": [r.to_dict() for r in self.reasons],
        }


def explain(store: Store, ref: str, now: datetime | None = None) -> Explanation:
    """Why the run `ref` is in its state."""
    now = now or store.now()
    run = resolve_run(store, ref)
    deployment = _deployment(store, run)
    if run.state is RunState.SCHEDULED:
        reasons = _scheduled(store, run, deployment, now)
        blocking = [r for r in reasons if r.blocking]
        verdict = blocking[0].code if blocking else ELIGIBLE
        if blocking:
            summary = "waiting: " + "; ".join(r.message for r in blocking)
        else:
            summary = f"eligible: a worker of pool {run.pool_name!r} should claim it within its poll interval"
    else:
        verdict, summary, reasons = _not_waiting(run, deployment, now)
    return Explanation(
        id=run.id,
        name=run.name,
        deployment=f"{run.flow_name}/{run.deployment_name}",
        pool=run.pool_name,
        queue=run.queue_name,
        state=run.state,
        scheduled_time=run.scheduled_time,
        attempt=run.attempt,
        verdict=verdict,
        summary=summary,
        reasons=reasons,
    )


def _deployment(store: Store, run: FlowRun) -> Deployment | None:
    if run.deployment_id is None:
        return None
    try:
        return store.deployments.get(run.deployment_id)
    except NotFoundError:
        return None


def _names(holders: list[FlowRun]) -> str:
    shown = ", ".join(f"{r.name} ({r.state}, {r.id[:8]})" for r in holders[:5])
    return shown + (f" and {len(holders) - 5} more" if len(holders) > 5 else "")


def _when(value: datetime, now: datetime) -> str:
    seconds = (value - now).total_seconds()
    rel = f"in {seconds:.0f}s" if seconds >= 0 else f"{-seconds:.0f}s ago"
    return f"{value.isoformat(timespec='seconds')} ({rel})"


def _scheduled(store: Store, run: FlowRun, deployment: Deployment | None, now: datetime) -> list[Reason]:
    reasons: list[Reason] = []
    if run.scheduled_time > now:
        reasons.append(Reason("not_due", f"not due yet: scheduled for {_when(run.scheduled_time, now)}"))
    try:
        pool = store.pools.get(run.pool_name)
    except NotFoundError:
        return [*reasons, Reason("no_pool", f"its work pool {run.pool_name!r} does not exist")]
    if pool.paused:
        reasons.append(Reason("pool_paused", f"work pool {pool.name!r} is paused (work-pool resume {pool.name})"))
    queue = next((q for q in store.queues.list(pool.name) if q.name == run.queue_name), None)
    if queue is not None and queue.paused:
        reasons.append(
            Reason("queue_paused", f"work queue {queue.name!r} of pool {pool.name!r} is paused (work-queue resume)")
        )
    workers = store.workers.list(pool.name)
    status, problem = pool_readiness(pool.paused, workers, now)  # as `work-pool ls` says it
    if status is PoolStatus.NOT_READY:
        if any(w.problem is not None and worker_status(w, now) is WorkerStatus.ONLINE for w in workers):
            reasons.append(Reason("worker_problem", f"pool {pool.name!r} is NOT_READY: {problem}"))
        else:
            detail = problem or "no worker has ever polled it"
            reasons.append(
                Reason(
                    "no_worker",
                    f"no worker is polling pool {pool.name!r} (NOT_READY; {detail});"
                    f" start one: deploytool worker start --pool {pool.name}",
                )
            )
    active = store.runs.list(state=ACTIVE, pool_name=pool.name, limit=_MAX_HOLDERS)
    if pool.concurrency_limit is not None and len(active) >= pool.concurrency_limit:
        reasons.append(_limit("pool_limit", f"work pool {pool.name!r}", pool.concurrency_limit, active))
    if queue is not None and queue.concurrency_limit is not None:
        in_queue = [r for r in active if r.queue_name == queue.name]
        if len(in_queue) >= queue.concurrency_limit:
            reasons.append(_limit("queue_limit", f"work queue {queue.name!r}", queue.concurrency_limit, in_queue))
    if deployment is not None:
        reasons.extend(_deployment_reasons(store, run, deployment))
    return reasons


def _limit(code: str, what: str, limit: int, holders: list[FlowRun]) -> Reason:
    return Reason(
        code,
        f"the concurrency limit {limit} of {what} is held by {len(holders)} run(s): {_names(holders)}",
        holders=holders,
    )


def _deployment_reasons(store: Store, run: FlowRun, deployment: Deployment) -> list[Reason]:
    reasons: list[Reason] = []
    if deployment.paused:
        reasons.append(
            Reason(
                "deployment_paused",
                f"deployment {deployment.full_name} is paused: its schedules create no new runs"
                " (a run already queued, like this one, can still start)",
                blocking=False,
            )
        )
    limit = (deployment.concurrency_limit or {}).get("limit")
    if limit is None:
        return reasons
    holders = store.runs.list(state=ACTIVE, deployment_id=deployment.id, limit=_MAX_HOLDERS)
    if len(holders) < int(limit):
        return reasons
    reason = _limit("deployment_limit", f"deployment {deployment.full_name}", int(limit), holders)
    if (deployment.concurrency_limit or {}).get("collision_strategy") == "CANCEL_NEW":
        cancel_new = "; with CANCEL_NEW it is cancelled when a worker reaches it while the limit is full"
        reason = replace(reason, message=reason.message + cancel_new)
    reasons.append(reason)
    return reasons


def _not_waiting(run: FlowRun, deployment: Deployment | None, now: datetime) -> tuple[str, str, list[Reason]]:
    worker = repr(run.worker_name) if run.worker_name else "no worker"
    lease = ""
    if run.lease_expires is not None:
        expired = run.lease_expires < now
        lease = f"; lease {'expired' if expired else 'until'} {_when(run.lease_expires, now)}"
        if expired:
            lease += " (the next heartbeat of any worker of the pool recovers it)"
    if run.state is RunState.PENDING:
        return "claimed", f"claimed by worker {worker}, starting its job{lease}", []
    if run.state is RunState.RUNNING:
        since = f" since {_when(run.start_time, now)}" if run.start_time else ""
        return "running", f"running on worker {worker}{since}{lease}", []
    if run.state is RunState.CANCELLING:
        return "cancelling", f"being cancelled: worker {worker} is stopping its job{lease}", []
    assert run.state in TERMINAL
    ended = f" at {_when(run.end_time, now)}" if run.end_time else ""
    message = f": {run.state_message}" if run.state_message else ""
    reasons: list[Reason] = []
    note = crashretry.exhausted_note(deployment.crash_retries if deployment else None, run)
    if run.state is RunState.CRASHED and note:
        reasons.append(Reason("crash_retries_used", note, blocking=False))
    summary = f"finished {run.state}{ended}{message}; run it again: deploytool flow-run retry {run.id[:8]}"
    return "finished", summary, reasons
