"""The worker: one synchronous loop that claims runs, launches them and owns them until their outcome is stored.

Each `tick(now)` does, in order: heartbeat (every `heartbeat_seconds`: record the worker, renew the leases of
its runs, recover any expired lease of any worker, re-read the pool); check the runs it owns against the
store (a `CANCELLING` run is stopped; a run it no longer holds is stopped and left alone); stop runs past their
timeout, or past the shutdown grace period; record the outcome of every job that has ended; claim and launch
runs up to its limit. `run()` repeats that until it is told to stop and its runs are done. docs/worker.md has
the whole story. `now` is a parameter so tests need not patch the clock.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from deploytool.errors import ConflictError, DeploytoolError, NotFoundError, StoreUnavailableError
from deploytool.infra import infrastructure_for
from deploytool.infra.base import Infrastructure, JobOwner
from deploytool.models import ACTIVE, FlowRun, RunState
from deploytool.redaction import Redactor
from deploytool.scheduling import SCHEDULE_EVERY_SECONDS, schedule_runs
from deploytool.store import Store
from deploytool.worker.cleanup import Sweeper, release_job
from deploytool.worker.health import InfraHealth, warn_idle_setup
from deploytool.worker.jobconfig import JobTemplates
from deploytool.worker.jobs import CANCEL, LOST, SHUTDOWN, TIMEOUT
from deploytool.worker.launch import LaunchError, Prepared, prepare, worker_environ
from deploytool.worker.leases import LeaseKeeper
from deploytool.worker.observer import NoObserver, WorkerObserver
from deploytool.worker.options import WorkerOptions
from deploytool.worker.outage import StoreOutage, lost_run
from deploytool.worker.output import RunOutput, write_outputs
from deploytool.worker.pacing import Pacer
from deploytool.worker.reconcile import Reconciler
from deploytool.worker.recording import StateWrite, record_job_ids
from deploytool.worker.starting import JobOutput, StartingRun, job_state, start_job

log = logging.getLogger("deploytool.worker")


class Worker:
    """A worker of one pool. Create it, then `run()` it (or call `register()`, `tick()`..., `close()`)."""

    def __init__(self, store: Store, options: WorkerOptions, *, infra: Infrastructure[Any] | None = None) -> None:
        problems = options.problems()
        if problems:
            raise DeploytoolError("; ".join(problems))
        self.store = store
        self.options = options
        self.name = options.name
        self.pool = store.pools.get(options.pool)
        owner = JobOwner(self.name, self.pool.name)
        self.infra: Infrastructure[Any] = infra if infra is not None else infrastructure_for(self.pool.type, owner)
        self.active: dict[str, StartingRun] = {}
        self.pacer = Pacer(store, options.poll_seconds, options.idle_poll_seconds, self.pool.name)
        self.wake = self.pacer.wake  # set by a job that ends: the loop wakes at once
        self.claiming = True
        self.signals: list[str] = []
        self.launched = 0
        self.finished = 0
        self._signals_seen = 0
        self._shutdown_at: datetime | None = None
        self._shutdown_detail = ""  # why and when the shutdown stops runs, for their state message
        self._next_heartbeat: datetime | None = None
        self._next_schedule: datetime | None = None
        self._environ = worker_environ()
        self.templates = JobTemplates()  # what runs of one deployment share, worked out once (worker.jobconfig)
        self.leases = LeaseKeeper(store, options, self.pool.name)
        self.reconciler = Reconciler(self)  # docker containers outlive a worker: see deploytool.worker.reconcile
        self.sweeper = Sweeper(store, self.infra, self.pool.name)  # removes kept containers in time (worker.cleanup)
        self.observer: WorkerObserver = NoObserver()  # told of heartbeats, claims and outcomes (e.g. metrics)
        self.outage = StoreOutage(self.name)  # the store stopped answering: see deploytool.worker.outage
        self.health = InfraHealth(self.infra, self.name)  # e.g. the Docker daemon does not answer

    # --- what the Reconciler uses (deploytool.worker.reconcile.ReconcilingWorker) --------------------------

    def owned_runs(self) -> list[FlowRun]:
        """The active runs of the pool the store says this worker holds."""
        runs = self.store.runs.list(state=ACTIVE, pool_name=self.pool.name, limit=1_000_000)
        return [r for r in runs if r.worker_name == self.name]

    def watched(self, run_id: str) -> StartingRun | None:
        """The run's job, if this worker watches one."""
        return self.active.get(run_id)

    def adopt(self, active: StartingRun) -> None:
        """Watch a job this worker did not start in this life (re-attached after a restart)."""
        self.active[active.run.id] = active
        active.watch(self.wake)

    def prepare_job(self, run: FlowRun) -> Prepared:
        """The run's job as it is prepared at launch (deploytool.worker.launch.prepare)."""
        return prepare(self.store, run, self.pool, worker_name=self.name, environ=self._environ, cache=self.templates)

    # --- the loop ---------------------------------------------------------------------------------------

    def run(self) -> None:
        """Register, tick until stopped and idle, then close. A failing tick is logged and retried."""
        self.register()
        try:
            while True:
                try:
                    self.tick()
                except DeploytoolError as exc:  # e.g. the store stayed locked: try again next pass
                    log.error("worker %s: %s", self.name, exc)
                except Exception:  # a bug in one pass must not take the runs' owner down
                    log.exception("worker %s: unexpected error in the loop; carrying on", self.name)
                    self.wake.wait(1.0)
                if self.done or self.outage.left_behind(self.claiming, list(self.active.values())):
                    break
                self._sleep()
        finally:
            self.close()

    @property
    def done(self) -> bool:
        """True when the worker no longer claims and has nothing running."""
        return not self.claiming and not self.active

    def register(self, now: datetime | None = None) -> None:
        """The first heartbeat; recovers expired leases before anything is claimed."""
        now = now or self.store.now()  # the store's clock: hosts sharing a store agree
        self.leases.refuse_duplicate(now)
        self._heartbeat(now)
        self.reconciler.run(now, starting=True)
        log.info(
            "worker %s serves pool %r (%s), queues %s, limit %d; lease %gs, heartbeat %gs",
            self.name,
            self.pool.name,
            self.pool.type,
            ", ".join(self.options.queues) if self.options.queues else "all",
            self.options.limit,
            self.options.lease,
            self.options.heartbeat_seconds,
        )
        warn_idle_setup(self.store, self.pool, self.options.queues)

    def tick(self, now: datetime | None = None) -> None:
        """One pass of the loop (see the module docstring)."""
        clock_given = now is not None
        now = now or self.store.now()
        self.observer.ticked()
        self._handle_signals(now)
        try:
            self._pass(now, clock_given)
        except StoreUnavailableError as exc:  # jobs go on; their logs and outcomes wait (deploytool.worker.outage)
            self.outage.failed(exc, list(self.active.values()), now)
            self._check_deadlines(now)
            return
        self.outage.answered(list(self.active.values()))

    def _pass(self, now: datetime, clock_given: bool) -> None:
        if self._next_heartbeat is None or now >= self._next_heartbeat:
            self._heartbeat(now)
        if self.active:
            self._check_owned()
            self._check_deadlines(now)
        ids = [(a, a.info.infrastructure_id) for a in self.active.values() if a.info and not a.info_recorded]
        running = [a.output for a in self.active.values() if not a.done]  # an ended run's go with its outcome
        self._flush(running, also=partial(record_job_ids, self.store, self.name, ids) if ids else None)  # 1 write
        for active, _ in ids:
            active.info_recorded = True  # committed (a failed write is tried again by the next pass)
        self._reap(now if clock_given else None)  # None: the store's time when each outcome is written
        self.sweeper.tick(now)
        if self.claiming:
            self._schedule(now)
            if self.health.problem is None:
                self._claim(now)
            if self.options.run_once:
                self.claiming = False
        self._flush()

    def request_shutdown(self, reason: str = "shutdown requested") -> None:
        """What SIGTERM/SIGINT do (from deploytool.worker.signals' thread): record it and end the pause at once."""
        self.signals.append(reason)
        self.wake.set()

    def close(self, now: datetime | None = None) -> None:
        """Stop what still runs (recording outcomes), release anything claimed but not started, deregister. With
        the store away, what it could not record is left to recovery, and it says so (worker.outage.gave_up)."""
        now = now or self.store.now()
        for active in self.active.values():
            active.request_stop(SHUTDOWN, self.options.stop_grace_seconds, "before its runs were done")
        for active in list(self.active.values()):
            active.join()
        try:
            self._flush()
            self._reap(now)
            for run in self.owned_runs():
                if run.state is RunState.PENDING:
                    self.record(run.id, RunState.SCHEDULED, f"released by worker {self.name!r} when it stopped")
                elif run.id not in self.active:
                    self.record(run.id, RunState.CRASHED, f"worker {self.name!r} stopped without a job for this run")
            with contextlib.suppress(NotFoundError):
                self.store.workers.delete(self.pool.name, self.name)
        except StoreUnavailableError as exc:
            self.outage.gave_up(exc, list(self.active.values()), self.options.lease)
            return
        log.info("worker %s stopped: %d run(s) launched, %d finished", self.name, self.launched, self.finished)

    # --- heartbeat, ownership, deadlines ------------------------------------------------------------------

    def _heartbeat(self, now: datetime) -> None:
        first = self._next_heartbeat is None  # a restarted worker may hold runs it has not re-attached yet
        self._next_heartbeat = now + timedelta(seconds=self.options.heartbeat_seconds)
        # An idle worker holds no lease: no renewal to write.
        recovered = self.leases.beat(now, renew=bool(self.active) or first, problem=self.health.check())
        self.observer.heartbeat(now)
        if recovered:
            self.reconciler.run(now)  # the recovered runs' containers may still run: stop the leftovers
        try:
            self.pool = self.store.pools.get(self.pool.name)
        except NotFoundError:
            if self.claiming:
                log.error("work pool %r was deleted: worker %s stops", self.pool.name, self.name)
                self._begin_shutdown(now, "its work pool was deleted")

    def _check_owned(self) -> None:
        owned = {r.id: r for r in self.owned_runs()}
        for run_id, active in self.active.items():
            run = owned.get(run_id)
            if run is None:
                if active.request_stop(LOST, self.options.stop_grace_seconds):
                    lost_run(run_id, self.name, active.done, self.options.stop_grace_seconds)
            elif run.state is RunState.CANCELLING and active.request_stop(CANCEL, self.options.stop_grace_seconds):
                active.output.note(f"cancel requested: stopping the job (grace {self.options.stop_grace_seconds:g}s)")

    def _check_deadlines(self, now: datetime) -> None:
        for active in self.active.values():
            attempt = active.output.attempt
            if attempt is not None and attempt.timeout_seconds is not None and active.stop_reason is None:
                limit = attempt.timeout_seconds + self.options.timeout_grace_seconds
                if now >= attempt.started + timedelta(seconds=limit):
                    detail = f"timed out after {attempt.timeout_seconds:g} s"
                    active.request_stop(TIMEOUT, self.options.stop_grace_seconds, detail)
                    active.output.note(
                        f"{detail} and still running {self.options.timeout_grace_seconds:g}s later: "
                        "the worker stops it",
                        "ERROR",
                    )
            due = self._shutdown_at is not None and now >= self._shutdown_at
            if due and active.request_stop(SHUTDOWN, self.options.stop_grace_seconds, self._shutdown_detail):
                active.output.note(f"worker {self.name!r} is shutting down: stopping the job", "WARNING")

    def _handle_signals(self, now: datetime) -> None:
        while self._signals_seen < len(self.signals):
            reason = self.signals[self._signals_seen]
            self._signals_seen += 1
            if self._signals_seen == 1:
                self._begin_shutdown(now, reason)
            elif self._signals_seen == 2:
                log.warning("worker %s: %s again: stopping its runs now", self.name, reason)
                self._shutdown_at = now
                self._shutdown_detail = f"({reason} again: runs stopped at once)"
            else:
                log.warning("worker %s: %s a third time: killing its runs", self.name, reason)
                for active in self.active.values():
                    active.hurry(0.0)

    def _begin_shutdown(self, now: datetime, reason: str) -> None:
        self.claiming = False
        self._shutdown_at = now + timedelta(seconds=self.options.shutdown_grace_seconds)
        self._shutdown_detail = f"({reason}, after {self.options.shutdown_grace_seconds:g}s)"
        if self.active:
            log.warning("worker %s: %s: no more claims; %d run(s) may finish within %gs, then they are stopped",
                        self.name, reason, len(self.active), self.options.shutdown_grace_seconds)  # fmt: skip
        else:
            log.info("worker %s: %s: stopping", self.name, reason)

    # --- outcomes ------------------------------------------------------------------------------------------

    def _reap(self, now: datetime | None) -> None:
        # A job leaves `active` once its logs and outcome are stored (store away: deploytool.worker.outage).
        for run_id in [r for r, a in self.active.items() if a.done]:
            active = self.active[run_id]
            job_id = active.info.infrastructure_id if active.info is not None else None
            if active.stop_reason == LOST:
                self._flush([active.output])
                log.warning("run %s: job gone; the run's state belongs to whoever recovered it", run_id)
                del self.active[run_id]
                release_job(self.infra, job_id, None)
            else:
                (state, message), code = job_state(active, self.name), active.outcome and active.outcome.exit_code
                final = StateWrite(self.store, self.name, run_id, state, active.output.redact(message),
                                   now=active.ended or now, exit_code=code, attempt=active.run.attempt)  # fmt: skip
                self._flush([active.output], also=final)  # its last lines and its outcome: one transaction
                del self.active[run_id]
                self._recorded(final)
                release_job(self.infra, job_id, state)  # only now: its outcome and logs are in the store
            self.finished += 1

    def record(self, run_id: str, state: RunState, message: str, *, now: datetime | None = None,
               attempt: int | None = None, **fields: Any) -> bool:  # fmt: skip
        """Record a state of a run this worker holds (at `attempt`, if given), with its crash retry; False if it
        no longer holds it (the outcome recorded meanwhile stays). StoreUnavailableError: try again later."""
        final = StateWrite(self.store, self.name, run_id, state, message, now=now, attempt=attempt, **fields)
        final()
        return self._recorded(final)

    def _recorded(self, final: StateWrite) -> bool:
        """Log and report a state write that committed; False if the run was no longer this worker's."""
        if final.result is None:
            return False
        run, retried = final.result
        log.info("run %s: %s (%s)", final.run_id, final.state, final.message)
        self.observer.recorded(run)
        self.observer.active(len(self.active))
        if retried is not None:
            log.warning("run %s: %s", final.run_id, retried.state_message)
        return True

    # --- scheduling, claiming and launching ----------------------------------------------------------------

    def _schedule(self, now: datetime) -> None:
        """Every SCHEDULE_EVERY_SECONDS: create the upcoming runs of the pool's deployments (deploytool.scheduling)."""
        if self._next_schedule is not None and now < self._next_schedule:
            return
        self._next_schedule = now + timedelta(seconds=SCHEDULE_EVERY_SECONDS)
        try:
            report = schedule_runs(self.store, now, pool=self.pool.name)
        except DeploytoolError as exc:
            log.error("worker %s: scheduling failed: %s", self.name, exc)
            return
        if report.created or report.cancelled or report.deleted:
            log.info(
                "worker %s scheduled runs: %d created, %d missed cancelled, %d outdated deleted",
                self.name, report.created, report.cancelled, report.deleted,
            )  # fmt: skip

    def _claim(self, now: datetime) -> None:
        while len(self.active) < self.options.limit:
            run = self.store.runs.claim_next(self.pool.name, self.options.queues, self.name, self.options.lease, now)
            if run is None:
                return
            self.pacer.busy()
            if run.id in self.active:  # recovered and re-queued while our old job of it still runs: never two
                message = f"released by worker {self.name!r}: its previous job still runs"
                self.record(run.id, RunState.SCHEDULED, message)
                return
            self.launched += 1
            self.observer.claimed(run, now)
            self._launch(run, now)
            self.observer.active(len(self.active))

    def _launch(self, run: FlowRun, now: datetime) -> None:
        output = JobOutput(run.id)
        output.note(f"claimed by worker {self.name!r} on {self.options.host}")
        try:
            prepared = self.prepare_job(run)
        except (LaunchError, DeploytoolError) as exc:
            self._fail(run, output, RunState.FAILED, exc.message if isinstance(exc, DeploytoolError) else str(exc))
            return
        except Exception as exc:  # a bug must cost one run, not the worker
            log.exception("run %s: preparing the job failed", run.id)
            self._fail(run, output, RunState.CRASHED, f"the worker could not prepare the job: {exc!r}")
            return
        output.redact = Redactor(prepared.secrets, remember=True)
        output.echo = prepared.stream_output
        try:
            self.store.runs.set_state(run.id, RunState.RUNNING, None, now=now, expect_worker=self.name)
        except ConflictError:
            self._not_started(run, output)
            return
        # The watcher thread starts the job (an image pull may take minutes): the loop keeps beating meanwhile.
        active = start_job(run, output, self.infra, prepared.job, prepared.working_dir or "", now)
        self.active[run.id] = active
        active.watch(self.wake)

    def _fail(self, run: FlowRun, output: RunOutput, state: RunState, message: str) -> None:
        output.note(message, "ERROR")
        self._flush([output])
        self.record(run.id, state, output.redact(message))

    def _not_started(self, run: FlowRun, output: RunOutput) -> None:
        current = self.store.runs.get(run.id)
        if current.state is RunState.CANCELLING and current.worker_name == self.name:
            self.record(run.id, RunState.CANCELLED, "cancelled before its job was started")
        else:
            log.warning("run %s was taken from worker %s before it started (%s)", run.id, self.name, current.state)
        self._flush([output])

    # --- logs and sleeping ---------------------------------------------------------------------------------

    def _flush(self, outputs: list[RunOutput] | None = None, also: Callable[[], None] | None = None) -> None:
        write_outputs(
            self.store, outputs if outputs is not None else [a.output for a in self.active.values()], also=also
        )

    def pause(self) -> float:
        """The next pause between passes (deploytool.worker.pacing)."""
        return self.pacer.pause(idle=self.claiming and not self.active)

    def _sleep(self) -> None:  # a long --poll-seconds still beats and ends the shutdown grace on time
        due = min((t for t in (self._next_heartbeat, self._shutdown_at) if t is not None), default=None)
        most = None if due is None else (due - self.store.now()).total_seconds()
        self.pacer.sleep(idle=self.claiming and not self.active, most=most)
