"""Retries through the real worker: flow retries in the engine, crash retries by the deployment's policy, and
never two live executions of one run (two workers, one of them stalled past its lease)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from deploytool import crashretry
from deploytool.models import TERMINAL, RunState, utcnow
from deploytool.store import Store
from tests.worker.helpers import log_text, make_deployment, queue_run, state_of, tick_until, worker, write_flow

FAIL_TWICE = """
import pathlib
counter = pathlib.Path("attempts.txt")
n = int(counter.read_text()) + 1 if counter.exists() else 1
counter.write_text(str(n))
print(f"attempt {n}")
if n < 3:
    raise RuntimeError(f"boom {n}")
"""

# The first execution dies without reporting (as if the machine or container went away); later ones succeed.
CRASH_FIRST = """
import os, pathlib
marker = pathlib.Path("crashed-once")
if not marker.exists():
    marker.write_text("x")
    os._exit(137)
print("second time lucky")
"""


def test_flow_retries_run_in_the_engine_and_end_completed(store: Store, project: Path) -> None:
    entry = write_flow(project, FAIL_TWICE, options="retries=2, retry_delay_seconds=0.1")
    run = queue_run(store, make_deployment(store, project, entry))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    done = store.runs.get(run.id)
    assert done.state is RunState.COMPLETED and done.attempt == 1  # in-process retries: one run attempt
    logs = log_text(store, run.id)
    assert "attempt 1" in logs and "attempt 2" in logs and "attempt 3" in logs
    assert "Attempt 1 of 3 failed" in logs and "Attempt 2 of 3 failed" in logs
    assert "boom 1" in logs and "boom 2" in logs


def test_flow_retries_used_up_end_failed(store: Store, project: Path) -> None:
    entry = write_flow(project, FAIL_TWICE, options="retries=1, retry_delay_seconds=0")
    run = queue_run(store, make_deployment(store, project, entry, crash_retries=crashretry.normalise(3)))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    failed = store.runs.get(run.id)
    assert failed.state is RunState.FAILED and failed.attempt == 1  # a FAILED run is not a crash: no retry
    assert failed.state_message is not None and "boom 2" in failed.state_message


def test_a_crashed_run_is_retried_by_the_policy_and_completes(store: Store, project: Path) -> None:
    policy = crashretry.normalise({"max": 2, "backoff_seconds": 0})
    run = queue_run(store, make_deployment(store, project, write_flow(project, CRASH_FIRST), crash_retries=policy))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    done = store.runs.get(run.id)
    assert done.state is RunState.COMPLETED and done.attempt == 2
    logs = log_text(store, run.id)
    assert "crashed: " in logs and "retry 1 of 2 at" in logs and "second time lucky" in logs


def test_crash_retries_are_bounded(store: Store, project: Path) -> None:
    policy = crashretry.normalise({"max": 2, "backoff_seconds": 0})
    body = "import os\nos._exit(137)"
    run = queue_run(store, make_deployment(store, project, write_flow(project, body), crash_retries=policy))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL and store.runs.get(run.id).attempt == 3)
    tick_until(w, lambda: not w.active and state_of(store, run.id) in TERMINAL)
    final = store.runs.get(run.id)
    assert final.state is RunState.CRASHED and final.attempt == 3
    logs = log_text(store, run.id)
    assert "retry 1 of 2" in logs and "retry 2 of 2" in logs and "retry 3" not in logs


def test_a_stalled_workers_run_is_retried_by_another_and_never_runs_twice(store: Store, project: Path) -> None:
    """Worker A stalls past its lease; B recovers the run (CRASHED, retry queued no sooner than one lease), claims
    the retry, and A, waking up, stops its old job without recording anything: one execution records the end."""
    body = """
import pathlib, time, os
pathlib.Path(f"started-{os.getpid()}").write_text("x")
time.sleep(3)
pathlib.Path(f"finished-{os.getpid()}").write_text("x")
"""
    policy = crashretry.normalise({"max": 3, "backoff_seconds": 1})
    run = queue_run(store, make_deployment(store, project, write_flow(project, body), crash_retries=policy))
    a, b = worker(store, name="a"), worker(store, name="b")
    start = utcnow()
    a.register(start)
    a.tick(start)
    assert state_of(store, run.id) is RunState.RUNNING and run.id in a.active
    # A stalls; B's clock says A's lease (1.5 s) is long gone.
    future = start + timedelta(seconds=a.options.lease + 5)
    b.register(future)
    retried = store.runs.get(run.id)
    assert retried.state is RunState.SCHEDULED and retried.attempt == 2
    assert retried.scheduled_time >= future + timedelta(seconds=b.options.lease)  # time for A to notice
    assert "retry 1 of 3" in (retried.state_message or "")
    b.tick(future)
    assert state_of(store, run.id) is RunState.SCHEDULED  # not due yet: A still may be running its job
    due = retried.scheduled_time + timedelta(seconds=0.1)
    b.tick(due)
    assert store.runs.get(run.id).worker_name == "b"
    # A wakes up: the run is no longer its own, so it stops its job and records nothing.
    tick_until(a, lambda: not a.active)
    assert store.runs.get(run.id).worker_name == "b" and state_of(store, run.id) is RunState.RUNNING
    tick_until(b, lambda: state_of(store, run.id) in TERMINAL, now=lambda: due + timedelta(seconds=1))
    done = store.runs.get(run.id)
    assert (done.state, done.attempt, done.worker_name) == (RunState.COMPLETED, 2, "b")
    assert len(list(project.glob("finished-*"))) == 1  # A's job was stopped before it finished
