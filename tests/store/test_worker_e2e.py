"""The real worker on each backend: flows run as processes, states and logs land in the store, several worker
processes share the runs exactly once, and a killed worker's run is recovered by another.

(tests/worker/ holds the worker's own, broader suite on SQLite; these are the end-to-end paths again on both.)
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.models import ACTIVE, TERMINAL, RunState
from deploytool.store import Store
from tests.store.backends import StoreFactory
from tests.worker.helpers import (
    ledger_flow,
    log_text,
    make_deployment,
    pid_file_flow,
    queue_run,
    state_of,
    tick_until,
    wait_for,
    worker,
    write_flow,
)
from tests.worker_support import WorkerProcesses


def test_a_run_completes_and_a_failing_one_fails_with_their_logs(shared: Store, project: Path) -> None:
    ok = make_deployment(shared, project, write_flow(project, "print('x =', kwargs['x'])"), parameters={"x": 1})
    bad = make_deployment(shared, project, write_flow(project, "raise ValueError('bad 7')", name="bad.py"), name="bad")
    good_run, bad_run = queue_run(shared, ok, parameters={"x": 42}), queue_run(shared, bad)
    w = worker(shared)
    w.register()
    tick_until(w, lambda: {state_of(shared, good_run.id), state_of(shared, bad_run.id)} <= TERMINAL, timeout=60)
    assert state_of(shared, good_run.id) is RunState.COMPLETED
    assert "INFO stdout x = 42" in log_text(shared, good_run.id)
    failed = shared.runs.get(bad_run.id)
    assert (failed.state, failed.state_message) == (RunState.FAILED, "failed: ValueError: bad 7")
    assert "Traceback (most recent call last)" in log_text(shared, bad_run.id)
    w.close()
    assert shared.workers.list() == []


@pytest.fixture
def processes(store_factory: StoreFactory, tmp_path: Path) -> Iterator[WorkerProcesses]:
    started = WorkerProcesses(tmp_path, {"DEPLOYTOOL_STORE_URL": store_factory.url})
    yield started
    started.kill_all()


@pytest.mark.slow
def test_three_worker_processes_execute_each_run_exactly_once(
    shared: Store, processes: WorkerProcesses, project: Path
) -> None:
    ledger = project / "ledger"
    entry = ledger_flow(project, ledger)
    deployment = make_deployment(shared, project, entry)
    with shared.transaction():
        runs = [queue_run(shared, deployment) for _ in range(60)]
    for index in range(3):
        processes.start(f"w{index}", "--limit", "4", "--heartbeat-seconds", "2")
    wait_for(lambda: not shared.runs.list(state=[RunState.SCHEDULED, *ACTIVE], limit=1), timeout=240)
    processes.stop_all(60)
    assert sorted(ledger.read_text().split()) == sorted(r.id for r in runs)
    assert {r.state for r in shared.runs.list(limit=100)} == {RunState.COMPLETED}
    assert shared.workers.list() == []


@pytest.mark.slow
def test_a_killed_worker_s_run_is_recovered_by_another(
    shared: Store, processes: WorkerProcesses, project: Path
) -> None:
    pid_file = project / "pid"
    slow = make_deployment(
        shared,
        project,
        pid_file_flow(project, pid_file),
        name="slow",
    )
    run = queue_run(shared, slow)
    victim = processes.start("victim", "--limit", "1", "--heartbeat-seconds", "1")
    try:
        wait_for(lambda: state_of(shared, run.id) is RunState.RUNNING and pid_file.exists(), timeout=120)
        processes.start("survivor", "--limit", "1", "--heartbeat-seconds", "1")
        wait_for(lambda: any(w.name == "survivor" for w in shared.workers.list()), timeout=120)
        victim.kill()
        wait_for(lambda: state_of(shared, run.id) in TERMINAL, timeout=120)
        crashed = shared.runs.get(run.id)
        assert crashed.state is RunState.CRASHED
        assert "worker 'victim' stopped renewing its lease" in (crashed.state_message or "")
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
