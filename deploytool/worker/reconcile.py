"""Reconciliation: a worker matches the runs the store says it holds with the jobs that really exist.

Docker containers outlive their worker (a process job dies with it): such an infrastructure has the
`OutlivingJobs` capability (deploytool.infra.base), and a worker of its pool lists the pool's jobs
(`outliving.find`) when it starts and whenever it has recovered expired leases, and for each container decides
by its run's state in the store:

- the run is RUNNING (or CANCELLING) and held by this worker, under the container's worker label: the worker
  attaches to the container and watches it as if it had started it. Its output is replayed from the start and
  the lines already stored are skipped (counted, not timed, so no line is lost or doubled); an exited container
  is collected at once and its exit code, OOM flag and final engine event give the run's outcome.
- the run is held by another worker under that worker's label: left alone (that worker's business).
- a run this store does not know: left alone (another deploytool store may share the daemon and pool name).
- anything else (the run is finished, re-queued, or held by a worker that did not start this container):
  a leftover. A running leftover is stopped (`docker stop` with the worker's stop grace); it is removed when
  its run asked for `auto_remove`, else kept, stopped, like any finished container. A note goes to the run's log.

When the worker starts, a run the store says it holds but for which no job exists is settled too: PENDING goes
back to SCHEDULED, RUNNING becomes CRASHED, CANCELLING becomes CANCELLED. (A worker restarted under the same
name before its leases expired would otherwise renew them forever for jobs that are gone.) docs/worker.md.

The Reconciler sees its worker only through `ReconcilingWorker`, a small public API the worker implements
(deploytool.worker.loop imports this module, never the other way round).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, Protocol

from deploytool import pooltypes
from deploytool.errors import DeploytoolError, NotFoundError
from deploytool.infra.base import FoundJob, Infrastructure, OutlivingJobs
from deploytool.models import ACTIVE, FlowRun, LogLine, RunState, WorkPool, utcnow
from deploytool.redaction import Redactor
from deploytool.store import Store
from deploytool.worker.cleanup import kept_for_failure
from deploytool.worker.launch import Prepared
from deploytool.worker.leases import end_leftovers
from deploytool.worker.options import WorkerOptions
from deploytool.worker.output import WORKER
from deploytool.worker.starting import JobOutput, StartingRun

log = logging.getLogger("deploytool.worker")

REPLAY_FROM = 1.0  # epoch seconds: a reattached container's output is read from its start
_HOLDING = frozenset({RunState.RUNNING, RunState.CANCELLING})


class ReconcilingWorker(Protocol):
    """What the Reconciler needs of its worker (deploytool.worker.loop.Worker implements it)."""

    store: Store
    name: str
    pool: WorkPool
    options: WorkerOptions
    infra: Infrastructure[Any]

    def owned_runs(self) -> list[FlowRun]:
        """The active runs the store says this worker holds."""
        ...

    def watched(self, run_id: str) -> StartingRun | None:
        """The run's job if this worker watches one."""
        ...

    def adopt(self, active: StartingRun) -> None:
        """Watch a job this worker did not start in this life (re-attached) as if it had."""
        ...

    def prepare_job(self, run: FlowRun) -> Prepared:
        """The run's job, prepared as at launch (raises if it cannot be)."""
        ...

    def record(self, run_id: str, state: RunState, message: str, *, now: datetime | None = None) -> bool:
        """Record a state of a run this worker holds (False if it no longer does)."""
        ...


class Reconciler:
    """Reconciles one worker's runs with its infrastructure's jobs (see the module docstring)."""

    def __init__(self, worker: ReconcilingWorker) -> None:
        self.worker = worker
        self.discarding: set[str] = set()  # leftover jobs being stopped by a background thread
        self.reattached = 0

    def run(self, now: datetime, *, starting: bool = False) -> None:
        """One pass. `starting`: the worker has just started, so every run it holds without a job is settled."""
        w = self.worker
        outliving = w.infra.outliving
        adopted: set[str] = set()
        if outliving is not None:
            try:
                found = outliving.find(w.pool.name)
            except DeploytoolError as exc:
                log.warning("worker %s: could not list the pool's jobs to reconcile them: %s", w.name, exc)
                return  # without the list, nothing can be settled safely
            for job in sorted(found, key=lambda c: not c.running):
                try:
                    self._found(outliving, job, now, adopted)
                except DeploytoolError as exc:
                    log.warning("worker %s: reconciling %s: %s", w.name, job.name, exc)
        if starting:
            for run in w.owned_runs():
                if w.watched(run.id) is None and run.id not in adopted:
                    self._settle_jobless(run, now)

    # --- one job that outlived its worker --------------------------------------------------------------------

    def _found(self, outliving: OutlivingJobs[Any], job: FoundJob, now: datetime, adopted: set[str]) -> None:
        w = self.worker
        if job.job_id in self.discarding:
            return
        active = w.watched(job.run_id)
        if active is not None:
            mine = active.info.infrastructure_id if active.info is not None else None
            if mine is None or mine == job.job_id:  # still starting, or the one we watch
                return
            self._leftover(outliving, job, None, f"worker {w.name!r} runs a newer container of this run")
            return
        try:
            run = w.store.runs.get(job.run_id)
        except NotFoundError:  # another store's run, on a daemon and pool name shared with it: not ours to touch
            log.debug("container %s: run %s is not in this store; left alone", job.name, job.run_id)
            return
        if run.state in _HOLDING and run.worker_name == job.owner:
            if job.owner != w.name:
                return  # another worker's live run
            if run.id not in adopted and job.started:
                self._adopt(outliving, run, job, now)
                adopted.add(run.id)
                return
        if run.state in _HOLDING or run.state is RunState.PENDING:
            why = f"its run is {run.state} under worker {run.worker_name!r} now"
        else:
            why = f"its run is {run.state}"
        self._leftover(outliving, job, run, why)

    def _adopt(self, outliving: OutlivingJobs[Any], run: FlowRun, job: FoundJob, now: datetime) -> None:
        w = self.worker
        stored = sum(1 for line in w.store.logs.read(run.id, limit=10**9) if line.source != WORKER)
        output = JobOutput(run.id, skip=stored)
        prepared_job = None
        try:
            prepared = w.prepare_job(run)
        except Exception as exc:  # the deployment may be gone: the container still runs, so watch it anyway
            log.warning("run %s: its job configuration could not be prepared again (%s)", run.id, exc)
        else:
            output.redact = Redactor(prepared.secrets, remember=True)
            output.echo, prepared_job = prepared.stream_output, prepared.job
        handle = outliving.attach(job.job_id, output, since=REPLAY_FROM)
        state = "still running" if job.running else f"exited with code {job.exit_code}"
        output.note(
            f"worker {w.name!r} started again and reattached to container {job.name} "
            f"({job.job_id[:12]}, {state}); its output resumes after the {stored} line(s) already stored"
        )
        active = StartingRun(run=run, output=output, infra=w.infra, handle=handle, started=now, job=prepared_job)
        active.info = w.infra.describe(handle)
        w.adopt(active)
        self.reattached += 1
        log.info("run %s: reattached to container %s (%s)", run.id, job.name, state)

    def _leftover(self, outliving: OutlivingJobs[Any], job: FoundJob, run: FlowRun | None, why: str) -> None:
        w = self.worker
        # kept as its run asked: auto_remove false, or a FAILED/CRASHED run's keep_failed_hours (worker/cleanup.py)
        keep = not job.auto_remove or (run is not None and kept_for_failure(job, run, utcnow()))
        if not job.running and keep:
            return
        verb = "stopping" if job.running and keep else "stopping and removing" if job.running else "removing"
        text = f"worker {w.name!r} is {verb} leftover container {job.name} ({job.job_id[:12]}): {why}"
        log.warning("run %s: %s", job.run_id, text)
        if run is not None:
            w.store.logs.append(run.id, [LogLine(run.id, utcnow(), "WARNING", WORKER, text)])
        self.discarding.add(job.job_id)
        threading.Thread(
            target=self._discard,
            args=(outliving, job.job_id, keep),
            name=f"discard-{job.job_id[:8]}",
            daemon=True,
        ).start()

    def _discard(self, outliving: OutlivingJobs[Any], job_id: str, stop_only: bool) -> None:
        try:
            outliving.remove(job_id, self.worker.options.stop_grace_seconds, stop_only=stop_only)
        except Exception as exc:
            log.warning("could not stop leftover container %s: %s", job_id[:12], exc)
        finally:
            self.discarding.discard(job_id)

    # --- runs without a job ----------------------------------------------------------------------------------

    def _settle_jobless(self, run: FlowRun, now: datetime) -> None:
        w = self.worker
        if run.state is RunState.PENDING:
            w.record(run.id, RunState.SCHEDULED, f"released by worker {w.name!r}: it started again before running it")
        elif run.state is RunState.CANCELLING:
            w.record(run.id, RunState.CANCELLED, f"cancelled: worker {w.name!r} started again and its job was gone")
        elif run.state in ACTIVE:
            kind = pooltypes.pool_type(w.pool.type).job_noun if w.pool.type in pooltypes.POOL_TYPES else "job"
            message = f"worker {w.name!r} started again and found no {kind} of this run: its outcome is unknown"
            w.store.logs.append(run.id, [LogLine(run.id, now, "ERROR", WORKER, message)])
            w.record(run.id, RunState.CRASHED, message, now=now)
            end_leftovers(w.store, run, w.options.stop_grace_seconds)  # what its job left on this machine
