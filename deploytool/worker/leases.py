"""A worker's heartbeat: record itself, renew the leases of its runs, and recover the expired leases of others.

**A store outage does not count against a lease.** Leases are judged by time, and time during which nobody
could write (the store locked or unreachable, the worker's process stopped) is time during which nobody could
renew either. So a worker whose own heartbeats were interrupted (its last successful heartbeat is more than
two heartbeat intervals old, by the loop's clock or by the time the write itself waited) recovers no other
worker's runs until one full lease after its first successful heartbeat since: time for every other worker hit
by the same outage to renew its leases first. Its own leases it renews at once. docs/worker.md, "Leases and
recovery"; docs/reliability.md.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from deploytool import pooltypes
from deploytool.errors import DeploytoolError
from deploytool.infra.process import end_processes, run_processes
from deploytool.models import FlowRun, LogLine, RunState
from deploytool.store import Store, process_alive, stale_after
from deploytool.worker.crashes import crash_hook
from deploytool.worker.options import WorkerOptions
from deploytool.worker.output import WORKER

log = logging.getLogger("deploytool.worker")

Recovered = list[tuple[FlowRun, RunState]]


class LeaseKeeper:
    """The heartbeat of one worker (see the module docstring). `monotonic` is for tests."""

    def __init__(
        self, store: Store, options: WorkerOptions, pool_name: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.options = options
        self.pool_name = pool_name
        self.monotonic = monotonic
        self.last_ok: tuple[datetime, float] | None = None  # the last successful heartbeat: (now, monotonic)
        self.hold_until: datetime | None = None  # no recovery of other workers' runs before this

    def refuse_duplicate(self, now: datetime) -> None:
        """Two live workers under one name would renew, settle and deregister each other's runs: refuse."""
        o = self.options
        other = next((w for w in self.store.workers.list(self.pool_name) if w.name == o.name), None)
        if other is None:
            return
        if other.host == o.host:
            alive = other.pid != os.getpid() and process_alive(other.pid)
        else:  # another machine: trust its heartbeat, for its own lease (or this worker's, if longer)
            alive = now - other.last_heartbeat < timedelta(seconds=max(o.lease, stale_after(other)))
        if alive:
            raise DeploytoolError(
                f"a worker named {o.name!r} is already serving pool {self.pool_name!r}"
                f" (pid {other.pid} on {other.host}, last heartbeat {other.last_heartbeat:%H:%M:%S} UTC)",
                hint="stop that worker first, or give this one another --name (without --name each gets a unique one)",
            )

    def beat(self, now: datetime, *, renew: bool, problem: str | None = None) -> Recovered:
        """One heartbeat at `now` (with the `problem` that keeps the worker from taking runs); renews this
        worker's leases when `renew`; returns the runs it recovered."""
        o = self.options
        self.store.workers.heartbeat(o.name, self.pool_name, o.host, os.getpid(), now, problem, o.lease)
        if renew:
            self.store.runs.renew_leases(o.name, o.lease, now, self.pool_name)
        beaten = (now, self.monotonic())
        gap = None
        if self.last_ok is not None:  # the loop's clock (driven by tests) or the real wait, whichever is longer
            gap = max((now - self.last_ok[0]).total_seconds(), beaten[1] - self.last_ok[1])
        self.last_ok = beaten
        if gap is not None and gap > 2 * o.heartbeat_seconds:
            self.hold_until = now + timedelta(seconds=o.lease)
            log.warning(
                "worker %s could not renew its heartbeat for %.0f s (the store was locked or unreachable, or the"
                " worker was stopped): it recovers no other worker's runs until %s UTC, one lease from now, so that"
                " those hit by the same outage can renew theirs first",
                o.name, gap, f"{self.hold_until:%H:%M:%S}",
            )  # fmt: skip
        if self.hold_until is not None and now < self.hold_until:
            return []
        self.hold_until = None
        # A crashed run is retried by its deployment's crash_retries policy, no sooner than one lease from now.
        hook = crash_hook(self.store, now, min_delay_seconds=o.lease)
        recovered = self.store.runs.recover_expired(now, on_crash=hook)
        for run, state in recovered:
            log.warning("recovered run %s (%s): now %s: %s", run.name, run.id, state, run.state_message)
            note = f"recovered by worker {o.name!r}: {run.state_message}"
            self.store.logs.append(run.id, [LogLine(run.id, now, "WARNING", WORKER, note)])
            end_leftovers(self.store, run, o.stop_grace_seconds)
        return recovered


def end_leftovers(store: Store, run: FlowRun, grace_seconds: float) -> None:
    """In the background, end the processes a run of a local pool type (process) left on this machine: its
    worker died, and if the job's own watchdog could not end them (deploytool.engine.orphan), this does."""
    try:
        pool_type = store.pools.get(run.pool_name).type
    except DeploytoolError:
        return
    if pool_type not in pooltypes.POOL_TYPES or not pooltypes.pool_type(pool_type).local:
        return

    found = run_processes(run.id)  # now: a later attempt of the run, started after this, is not touched
    if not found:
        return

    def end() -> None:
        try:
            if count := end_processes(found, grace_seconds):
                log.warning("run %s: ended %d process(es) its dead worker's job left on this machine", run.id, count)
        except Exception:
            log.exception("run %s: could not end the processes its job left", run.id)

    threading.Thread(target=end, name=f"leftovers-{run.id[:8]}", daemon=True).start()
