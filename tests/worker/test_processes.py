"""Workers as separate OS processes: racing on many runs, killed with SIGKILL, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.models import ACTIVE, TERMINAL, RunState
from deploytool.store import Store
from tests.worker.helpers import (
    alive,
    ledger_flow,
    log_text,
    make_deployment,
    pid_file_flow,
    queue_run,
    wait_for,
    write_flow,
)
from tests.worker_support import WorkerProcesses

HEARTBEAT = 0.5  # lease: 1.5 s


@pytest.fixture
def workers(db_path: Path, tmp_path: Path) -> Iterator[WorkerProcesses]:
    """Workers of the `store` fixture's file (tests/worker_support.py)."""
    options = ("--heartbeat-seconds", str(HEARTBEAT), "--stop-grace", "1")
    started = WorkerProcesses(tmp_path, {"DEPLOYTOOL_HOME": str(db_path.parent)}, options)
    yield started
    started.kill_all()


@pytest.mark.slow
def test_three_workers_execute_300_runs_exactly_once(workers: WorkerProcesses, store: Store, project: Path) -> None:
    ledger = project / "ledger"
    entry = ledger_flow(project, ledger)
    deployment = make_deployment(store, project, entry)
    with store.transaction():
        runs = [queue_run(store, deployment) for _ in range(300)]
    for index in range(3):
        # A 6 s lease: on a loaded 2-core CI machine a 1.5 s lease can expire between two heartbeats, and a run
        # recovered from a live worker is (correctly) CRASHED, not executed twice.
        workers.start(f"w{index}", "--limit", "4", "--heartbeat-seconds", "2")
    wait_for(lambda: not store.runs.list(state=[RunState.SCHEDULED, *ACTIVE], limit=1), timeout=240)
    workers.stop_all(30)
    executed = ledger.read_text().split()
    assert len(executed) == 300
    assert sorted(executed) == sorted(r.id for r in runs)
    finished = store.runs.list(limit=1000)
    assert {r.state for r in finished} == {RunState.COMPLETED}
    by_worker = {r.worker_name for r in finished}
    assert len(by_worker) >= 2, by_worker  # the work was shared
    assert store.workers.list() == []  # each deregistered when it stopped


@pytest.mark.slow
def test_a_killed_worker_s_run_is_crashed_by_another_worker_which_carries_on(
    workers: WorkerProcesses, store: Store, project: Path
) -> None:
    pid_file = project / "pid"
    slow = make_deployment(
        store,
        project,
        pid_file_flow(project, pid_file),
        name="slow",
    )
    quick = make_deployment(store, project, write_flow(project, "print('quick')", name="quick.py"), name="quick")
    victim_run = queue_run(store, slow)
    victim = workers.start("victim", "--limit", "1")
    wait_for(lambda: store.runs.get(victim_run.id).state is RunState.RUNNING and pid_file.exists())
    survivor = workers.start("survivor", "--limit", "1")
    wait_for(lambda: any(w.name == "survivor" for w in store.workers.list()))
    victim.kill()
    try:
        # Its lease (3 heartbeats) runs out, then the survivor's next pass crashes the run: waited for, not timed.
        wait_for(lambda: store.runs.get(victim_run.id).state in TERMINAL, timeout=120)
        crashed = store.runs.get(victim_run.id)
        assert crashed.state is RunState.CRASHED
        assert "worker 'victim' stopped renewing its lease" in (crashed.state_message or "")
        # The note follows the recovery's commit (a write of its own): waited for, not assumed.
        wait_for(lambda: "recovered by worker 'survivor'" in log_text(store, victim_run.id))
        after = queue_run(store, quick)
        wait_for(lambda: store.runs.get(after.id).state is RunState.COMPLETED)
        assert store.runs.get(after.id).worker_name == "survivor"
        assert survivor.poll() is None
    finally:
        if pid_file.exists() and alive(int(pid_file.read_text())):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.slow
def test_sigterm_leaves_no_run_running_or_pending_without_an_owner(
    workers: WorkerProcesses, store: Store, project: Path
) -> None:
    pids = project / "pids"
    entry = write_flow(
        project,
        f"import os, time\nwith open({str(pids)!r}, 'a') as f: f.write(f'{{os.getpid()}}\\n')\n"
        "time.sleep(kwargs.get('seconds', 60))",
    )
    deployment = make_deployment(store, project, entry)
    long_runs = [queue_run(store, deployment) for _ in range(2)]
    short_run = queue_run(store, deployment, parameters={"seconds": 1.0})
    waiting = [queue_run(store, deployment) for _ in range(3)]  # beyond --limit: never claimed
    proc = workers.start("w", "--limit", "3", "--shutdown-grace", "2")
    wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, workers.output("w")
    states = {r.id: store.runs.get(r.id) for r in [*long_runs, short_run, *waiting]}
    assert states[short_run.id].state is RunState.COMPLETED
    for run in long_runs:
        assert states[run.id].state is RunState.CRASHED
        assert "worker 'w' shut down (received SIGTERM, after 2s)" in (states[run.id].state_message or "")
    assert all(states[r.id].state is RunState.SCHEDULED for r in waiting)
    assert not store.runs.list(state=ACTIVE, limit=10)
    assert not any(alive(int(p)) for p in pids.read_text().split())
    assert store.workers.list() == []
