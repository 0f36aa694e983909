"""Docker hosts stay clean: what a run's job leaves on its infrastructure is removed once it is no longer needed.

A job whose infrastructure keeps it after it ended (a docker container: `OutlivingJobs`) is `release`d by the
worker right after the run's outcome and logs are recorded, never before: removed at once under `auto_remove`,
except a FAILED or CRASHED run's, kept `keep_failed_hours` (a job variable, default 24) for `docker logs` and
`docker inspect`. The worker's sweep (`Sweeper`, every SWEEP_EVERY_SECONDS) removes those once their time is up,
and so does a restarted worker's reconciliation (`removable`). `deploytool worker prune` removes what is left
regardless (deploytool.worker.prune). docs/docker.md, "Removal".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from deploytool.errors import NotFoundError
from deploytool.infra.base import FoundJob, Infrastructure
from deploytool.models import TERMINAL, FlowRun, RunState
from deploytool.store import Store

log = logging.getLogger("deploytool.worker")

SWEEP_EVERY_SECONDS = 600.0
KEPT_STATES = frozenset({RunState.FAILED, RunState.CRASHED})
"""A run ending in one of these keeps its container for `keep_failed_hours`."""


def release_job(infra: Infrastructure[Any], job_id: str | None, state: RunState | None) -> None:
    """After the run's outcome is recorded (`state`; None when the run was taken away from this worker, whose
    recoverer records it as crashed): let the infrastructure remove what the job left, as its configuration
    says. A failure is logged, never raised: the sweep and `worker prune` try again."""
    outliving = infra.outliving
    if outliving is None or job_id is None:
        return
    try:
        outliving.release(job_id, failed=state is None or state in KEPT_STATES)
    except Exception as exc:
        log.warning("could not remove the ended job %s: %s", job_id[:12], exc)


def removable(job: FoundJob, run: FlowRun, now: datetime) -> bool:
    """Whether the ended job of the finished `run` is to be removed at `now`: under auto_remove, once the run's
    outcome is recorded, or for a failed run once its keep time has passed since it ended."""
    if job.running or not job.auto_remove or run.state not in TERMINAL:
        return False
    return not kept_for_failure(job, run, now)


def kept_for_failure(job: FoundJob, run: FlowRun, now: datetime) -> bool:
    """Whether the job of a FAILED or CRASHED run is within its `keep_failed_hours` at `now`."""
    if run.state not in KEPT_STATES or job.keep_failed_hours <= 0:
        return False
    return now - (run.end_time or run.created) < timedelta(hours=job.keep_failed_hours)


class Sweeper:
    """Every SWEEP_EVERY_SECONDS (and at the first tick): remove the pool's ended jobs that are `removable`."""

    def __init__(self, store: Store, infra: Infrastructure[Any], pool_name: str) -> None:
        self.store = store
        self.infra = infra
        self.pool_name = pool_name
        self.removed = 0
        self._next: datetime | None = None

    def tick(self, now: datetime) -> None:
        if self._next is not None and now < self._next:
            return
        self._next = now + timedelta(seconds=SWEEP_EVERY_SECONDS)
        outliving = self.infra.outliving
        if outliving is None:
            return
        try:
            found = outliving.find(self.pool_name)
        except Exception as exc:
            log.warning("could not list the pool's ended jobs to remove them: %s", exc)
            return
        for job in found:
            if job.running:
                continue
            try:
                run = self.store.runs.get(job.run_id)
            except NotFoundError:
                continue  # another store's run, on a shared daemon: not ours
            if not removable(job, run, now):
                continue
            try:
                outliving.remove(job.job_id)
            except Exception as exc:
                log.warning("run %s: could not remove its ended job %s: %s", run.id, job.name, exc)
                continue
            self.removed += 1
            log.info("run %s: removed its ended %s (%s)", run.id, job.name, run.state)
