"""Leases with an injected clock: another worker's expired runs are recovered; a lost run is let go."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from deploytool.models import TERMINAL, RunState, utcnow
from deploytool.store import Store
from tests.worker.helpers import log_text, make_deployment, queue_run, state_of, tick_until, worker, write_flow


def test_an_expired_pending_run_is_requeued_and_then_run_by_this_worker(store: Store, project: Path) -> None:
    run = queue_run(store, make_deployment(store, project, write_flow(project, "print('ran')")))
    start = utcnow()
    assert store.runs.claim_next("p", None, "ghost", 1.5, start) is not None
    w = worker(store)
    w.register(start)
    w.tick(start)
    assert state_of(store, run.id) is RunState.PENDING  # the ghost's lease still holds
    later = start + timedelta(seconds=2)
    for beat in (0.5, 1.0, 1.5):  # heartbeats without a gap (a gap would hold recovery back: docs/reliability.md)
        w.tick(start + timedelta(seconds=beat))
    w.tick(later)  # heartbeat due (0.5 s): recovery re-queues it, then this worker claims it
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL, now=lambda: later + timedelta(seconds=1))
    done = store.runs.get(run.id)
    assert done.state is RunState.COMPLETED and done.worker_name == "w1"
    logs = log_text(store, run.id)
    assert "recovered by worker 'w1'" in logs and "re-queued" in logs


def test_a_run_taken_away_from_this_worker_is_stopped_and_left_alone(store: Store, project: Path) -> None:
    run = queue_run(store, make_deployment(store, project, write_flow(project, "import time\ntime.sleep(60)")))
    w = worker(store)
    w.register()
    w.tick()
    assert state_of(store, run.id) is RunState.RUNNING
    # Another worker decided this one was dead (as if it had stalled longer than its lease).
    store.runs.recover_expired(utcnow() + timedelta(seconds=60))
    assert state_of(store, run.id) is RunState.CRASHED
    message = store.runs.get(run.id).state_message
    tick_until(w, lambda: not w.active)
    assert store.runs.get(run.id).state_message == message  # not overwritten by this worker


def test_run_once_claims_what_is_due_waits_and_stops(store: Store, project: Path) -> None:
    deployment = make_deployment(store, project, write_flow(project, "pass"))
    runs = [queue_run(store, deployment) for _ in range(3)]
    w = worker(store, run_once=True, limit=2)
    w.run()
    states = sorted(state_of(store, r.id) for r in runs)
    assert states == sorted([RunState.COMPLETED, RunState.COMPLETED, RunState.SCHEDULED])
    assert store.workers.list() == []
