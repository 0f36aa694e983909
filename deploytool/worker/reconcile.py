"""Reconciliation: a worker matches the runs the store says it holds with the jobs that really exist.

Docker containers outlive their worker (a process job dies with it), so a worker of a docker pool lists the
pool's run containers by label (`infra.find_containers`) when it starts and whenever it has recovered expired
leases, and for each container decides by its run's state in the store:

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
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from deploytool.errors import DeploytoolError, NotFoundError
from deploytool.infra.docker_config import AUTO_REMOVE_LABEL, WORKER_LABEL
from deploytool.models import ACTIVE, FlowRun, LogLine, RunState, utcnow
from deploytool.worker.launch import prepare
from deploytool.worker.output import ENGINE, STDOUT, WORKER, Redactor
from deploytool.worker.starting import JobOutput, StartingRun

if TYPE_CHECKING:
    from deploytool.worker.loop import Worker

log = logging.getLogger("deploytool.worker")

REPLAY_FROM = 1.0  # epoch seconds: a reattached container's output is read from its start
_HOLDING = frozenset({RunState.RUNNING, RunState.CANCELLING})


class Reconciler:
    """Reconciles one worker's runs with its infrastructure's jobs (see the module docstring)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.discarding: set[str] = set()  # leftover containers being stopped by a background thread
        self.reattached = 0

    def run(self, now: datetime, *, starting: bool = False) -> None:
        """One pass. `starting`: the worker has just started, so every run it holds without a job is settled."""
        w = self.worker
        find = getattr(w.infra, "find_containers", None)
        adopted: set[str] = set()
        if find is not None:
            try:
                containers = find(pool_name=w.pool.name)
            except DeploytoolError as exc:
                log.warning("worker %s: could not list the pool's containers to reconcile them: %s", w.name, exc)
                return  # without the list, nothing can be settled safely
            for container in sorted(containers, key=lambda c: not c.running):
                try:
                    self._container(container, now, adopted)
                except DeploytoolError as exc:
                    log.warning("worker %s: reconciling container %s: %s", w.name, container.name, exc)
        if starting:
            for run in w._owned():
                if run.id not in w.active and run.id not in adopted:
                    self._settle_jobless(run, now)

    # --- one container -------------------------------------------------------------------------------------

    def _container(self, container: Any, now: datetime, adopted: set[str]) -> None:
        w = self.worker
        if container.container_id in self.discarding:
            return
        active = w.active.get(container.run_id)
        if active is not None:
            mine = getattr(active.handle, "container_id", None)
            if mine is None or mine == container.container_id:  # still starting, or the one we watch
                return
            self._leftover(container, None, f"worker {w.name!r} runs a newer container of this run")
            return
        try:
            run = w.store.runs.get(container.run_id)
        except NotFoundError:  # another store's run, on a daemon and pool name shared with it: not ours to touch
            log.debug("container %s: run %s is not in this store; left alone", container.name, container.run_id)
            return
        label = container.labels.get(WORKER_LABEL)
        if run is not None and run.state in _HOLDING and run.worker_name == label:
            if label != w.name:
                return  # another worker's live run
            if run.id not in adopted and container.status != "created":
                self._adopt(run, container, now)
                adopted.add(run.id)
                return
        if run.state in _HOLDING or run.state is RunState.PENDING:
            why = f"its run is {run.state} under worker {run.worker_name!r} now"
        else:
            why = f"its run is {run.state}"
        self._leftover(container, run, why)

    def _adopt(self, run: FlowRun, container: Any, now: datetime) -> None:
        w = self.worker
        stored = sum(1 for line in w.store.logs.read(run.id, limit=10**9) if line.source in (STDOUT, ENGINE))
        output = JobOutput(run.id, skip=stored)
        job = None
        try:
            prepared = prepare(w.store, run, w.pool, worker_name=w.name, environ=w._environ)
        except Exception as exc:  # the deployment may be gone: the container still runs, so watch it anyway
            log.warning("run %s: its job configuration could not be prepared again (%s)", run.id, exc)
        else:
            output.redact, output.echo, job = Redactor(prepared.secrets), prepared.stream_output, prepared.job
        handle = w.infra.attach(container.container_id, output, since=REPLAY_FROM)
        state = "still running" if container.running else f"exited with code {container.exit_code}"
        output.note(
            f"worker {w.name!r} started again and reattached to container {container.name} "
            f"({container.container_id[:12]}, {state}); its output resumes after the {stored} line(s) already stored"
        )
        active = StartingRun(run=run, output=output, infra=w.infra, handle=handle, started=now, job=job)
        w.active[run.id] = active
        active.watch(w.wake)
        self.reattached += 1
        log.info("run %s: reattached to container %s (%s)", run.id, container.name, state)

    def _leftover(self, container: Any, run: FlowRun | None, why: str) -> None:
        w = self.worker
        remove = container.labels.get(AUTO_REMOVE_LABEL) == "true"
        if not container.running and not remove:
            return  # a finished container kept as its run asked (auto_remove false)
        verb = "stopping" if container.running else "removing"
        if container.running and remove:
            verb = "stopping and removing"
        text = f"worker {w.name!r} is {verb} leftover container {container.name} ({container.container_id[:12]}): {why}"
        log.warning("run %s: %s", container.run_id, text)
        if run is not None:
            w.store.logs.append(run.id, [LogLine(run.id, utcnow(), "WARNING", WORKER, text)])
        self.discarding.add(container.container_id)
        threading.Thread(
            target=self._discard,
            args=(container.container_id, not remove),
            name=f"discard-{container.container_id[:8]}",
            daemon=True,
        ).start()

    def _discard(self, container_id: str, stop_only: bool) -> None:
        try:
            self.worker.infra.remove(container_id, self.worker.options.stop_grace_seconds, stop_only=stop_only)
        except Exception as exc:
            log.warning("could not stop leftover container %s: %s", container_id[:12], exc)
        finally:
            self.discarding.discard(container_id)

    # --- runs without a job ----------------------------------------------------------------------------------

    def _settle_jobless(self, run: FlowRun, now: datetime) -> None:
        w = self.worker
        if run.state is RunState.PENDING:
            w._set(run.id, RunState.SCHEDULED, f"released by worker {w.name!r}: it started again before running it")
        elif run.state is RunState.CANCELLING:
            w._set(run.id, RunState.CANCELLED, f"cancelled: worker {w.name!r} started again and its job was gone")
        elif run.state in ACTIVE:
            kind = "container" if getattr(w.infra, "find_containers", None) else "process"
            message = f"worker {w.name!r} started again and found no {kind} of this run: its outcome is unknown"
            w.store.logs.append(run.id, [LogLine(run.id, now, "ERROR", WORKER, message)])
            w._set(run.id, RunState.CRASHED, message, now=now)
