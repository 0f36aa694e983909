"""A worker acts on a stop signal at once, ends its shutdown grace on time and keeps beating whatever its
`--poll-seconds`, and stops cleanly when its store is away (docs/reliability.md, "SIGTERM of a worker";
docs/worker.md, "Shutdown").

Real `deploytool worker start` processes on each backend: an SQLite file, and a PostgreSQL server of this module's
own (one test stops it). The workers poll and beat every 600 s: one that waited for its next pass to act on a
signal would outlive every wait here (WAIT, a safety net of 240 s), so exiting at all is the proof. No test bounds
a time.
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from deploytool.models import RunState
from deploytool.store import Store
from tests.reliability.helpers import WAIT, Workers, gone
from tests.worker.helpers import make_deployment, queue_run, state_of, wait_for, write_flow

LONG = ("--poll-seconds", "600", "--heartbeat-seconds", "600")  # a pass every 600 s: longer than WAIT

SLEEPER = """
import os, pathlib, time
pathlib.Path(kwargs['pid']).write_text(str(os.getpid()))
time.sleep(3600)
"""


def _sleeper_run(url: str, project: Path) -> tuple[str, str, Path]:
    """Queue a run whose flow writes its pid to a file and sleeps an hour: (run id, run name, the pid file)."""
    project.mkdir(exist_ok=True)
    pid_file = project / "pid"
    with Store.open(url) as store:
        deployment = make_deployment(store, project, write_flow(project, SLEEPER))
        run = queue_run(store, deployment, parameters={"pid": str(pid_file)})
    return run.id, run.name, pid_file


def test_an_idle_worker_with_a_long_poll_stops_at_once_on_sigterm(
    store_url: str, workers: Workers, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with Store.open(store_url) as store:
        run = queue_run(store, make_deployment(store, project, write_flow(project, "print('hi')")))
        proc = workers.start("w", store_url, *LONG)
        wait_for(lambda: state_of(store, run.id) is RunState.COMPLETED, WAIT)  # then it pauses for 600 s
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0, workers.log("w")  # within WAIT: it did not wait out its pause
        assert store.workers.list() == []  # it deregistered: a clean stop
    log = workers.log("w")
    assert "worker w: received SIGTERM: stopping" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("grace", ["0", "1"])
def test_a_worker_with_a_long_poll_stops_its_run_at_once_or_when_the_shutdown_grace_ends(
    store_url: str, workers: Workers, tmp_path: Path, grace: str
) -> None:
    # The job starts while the worker already pauses (nothing wakes it: no store change, no job ended).
    run_id, _, pid_file = _sleeper_run(store_url, tmp_path / "project")
    proc = workers.start("w", store_url, *LONG, "--shutdown-grace", grace, "--stop-grace", "1")
    wait_for(pid_file.exists, WAIT)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(WAIT) == 0, workers.log("w")  # the signal, then the grace, ended its pause: not the poll
    with Store.open(store_url) as store:
        done = store.runs.get(run_id)
    assert done.state is RunState.CRASHED
    assert (done.state_message or "").startswith(f"worker 'w' shut down (received SIGTERM, after {grace}s)")
    assert gone(int(pid_file.read_text()))
    assert "Traceback" not in workers.log("w")


def test_a_worker_with_a_long_poll_still_beats_and_renews_its_leases(
    store_url: str, workers: Workers, tmp_path: Path
) -> None:
    run_id, _, pid_file = _sleeper_run(store_url, tmp_path / "project")
    workers.start("w", store_url, "--poll-seconds", "600", "--heartbeat-seconds", "1", "--shutdown-grace", "0")
    wait_for(pid_file.exists, WAIT)
    with Store.open(store_url) as store:
        first = store.runs.get(run_id).lease_expires
        assert first is not None
        for _ in range(2):  # two more heartbeats: each renews the lease (3 s), not one pass in 600 s
            seen = store.runs.get(run_id).lease_expires
            wait_for(lambda seen=seen: store.runs.get(run_id).lease_expires != seen, WAIT)
        assert state_of(store, run_id) is RunState.RUNNING
    assert workers.stop("w") == 0


@pytest.mark.slow
def test_sigterm_while_the_store_is_away_stops_the_job_and_leaves_its_run_to_recovery(
    store_url: str, workers: Workers, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run_id, run_name, pid_file = _sleeper_run(store_url, tmp_path / "project")
    proc = workers.start("w", store_url, "--heartbeat-seconds", "1", "--shutdown-grace", "0", "--stop-grace", "1")
    with Store.open(store_url) as store:
        wait_for(lambda: pid_file.exists() and state_of(store, run_id) is RunState.RUNNING, WAIT)
    pid = int(pid_file.read_text())

    # The store goes away: the PostgreSQL server stops, or another process holds the SQLite file's write lock.
    postgres = store_url.startswith("postgresql")
    lock = None
    if postgres:
        request.getfixturevalue("cluster").stop_server()
    else:
        lock = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0, workers.log("w")  # a clean stop, not an error
    finally:
        if postgres:
            request.getfixturevalue("cluster").start_server()
        elif lock is not None:
            lock.execute("ROLLBACK")
            lock.close()
    assert gone(pid)  # its job was stopped, store or no store
    log = workers.log("w")
    assert f"run {run_id} ({run_name}): its job has ended, but its outcome could not be recorded" in log
    assert "worker w stops without reaching the store (" in log
    assert f"1 run(s) left to recovery ({run_id})" in log
    assert "Traceback" not in log

    with Store.open(store_url) as store:
        assert (state_of(store, run_id), store.runs.get(run_id).worker_name) == (RunState.RUNNING, "w")
        wait_for(lambda: store.runs.get(run_id).lease_expires < store.now(), WAIT)  # type: ignore[operator]
        # What any other worker's heartbeat does once the lease has expired (deploytool.worker.leases).
        assert [(r.id, state) for r, state in store.runs.recover_expired(store.now())] == [(run_id, RunState.CRASHED)]
        assert "worker 'w' stopped renewing its lease" in (store.runs.get(run_id).state_message or "")
