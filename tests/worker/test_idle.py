"""An idle worker backs off and takes no write lock when there is nothing to claim (docs/worker.md, "Idle")."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from deploytool.models import RunState, utcnow
from deploytool.store import Store, db
from tests.worker.helpers import make_deployment, queue_run, worker, write_flow


def test_the_idle_pause_doubles_up_to_its_limit_and_a_claim_resets_it(store: Store, project: Path) -> None:
    w = worker(store, poll_seconds=0.1, idle_poll_seconds=1.0)
    w.register()
    assert [w.pause() for _ in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    run = queue_run(store, make_deployment(store, project, write_flow(project, "pass")))
    w.tick()
    assert store.runs.get(run.id).state in (RunState.RUNNING, RunState.COMPLETED)
    assert w.pause() == 0.1  # busy again: the full rate
    w.close()


def test_an_idle_pass_takes_no_write_lock(store: Store, tmp_path: Path) -> None:
    w = worker(store, heartbeat_seconds=3600.0)
    now = utcnow()
    w.register(now)
    # Another process holds the write lock: a pass that wanted it would wait for it and then fail.
    other = sqlite3.connect(tmp_path / "store" / "deploytool.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for i in range(5):
            w.tick(now + timedelta(seconds=i + 1))  # heartbeat not due; scheduler pass done at register time
    finally:
        other.execute("ROLLBACK")
        other.close()
    w.close()


def test_an_idle_worker_s_scheduler_passes_take_no_write_lock_once_the_horizon_is_filled(
    store: Store, tmp_path: Path, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A scheduler pass is due every 10 s; with the deployment's upcoming runs made, it has nothing to write (one
    that wanted the lock would log that the store stayed locked)."""
    now = utcnow()
    hourly = {"cron": f"{(now.minute + 30) % 60} * * * *"}  # no run due within the minute the test covers
    deployment = make_deployment(store, project, write_flow(project, "pass"), schedules=[hourly])
    w = worker(store, heartbeat_seconds=3600.0)
    w.register(now)
    w.tick(now)  # its first scheduler pass makes the upcoming runs
    made = store.runs.list(deployment_id=deployment.id, limit=100)
    assert len(made) >= 3
    other = sqlite3.connect(tmp_path / "store" / "deploytool.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a pass that wanted the lock would wait for it and then fail
    try:
        for i in range(5):
            w.tick(now + timedelta(seconds=10 * (i + 1)))  # a scheduler pass each time; no heartbeat due
    finally:
        other.execute("ROLLBACK")
        other.close()
    w.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert store.runs.list(deployment_id=deployment.id, limit=100) == made


def test_a_run_queued_during_a_long_idle_pause_ends_the_pause(store: Store, tmp_path: Path, project: Path) -> None:
    w = worker(store, poll_seconds=0.05, idle_poll_seconds=3600.0)
    w.register()
    for _ in range(20):
        w.pause()  # at its limit now: an hour
    slept = threading.Thread(target=w._sleep, daemon=True)
    slept.start()
    with Store.open(tmp_path / "store" / "deploytool.db") as other:  # another process's connection
        deployment = make_deployment(other, project, write_flow(project, "pass"))
        for _ in range(100):  # the thread may read its starting counter after the first commit: commit again
            queue_run(other, deployment)
            slept.join(1.0)
            if not slept.is_alive():
                break
    assert not slept.is_alive(), "the worker slept on although runs were queued"
    w.close()


def test_an_idle_worker_s_pause_on_sqlite_ends_when_another_process_queues_a_run(
    store: Store, db_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle SQLite worker blocks on inotify: with the 0.1 s `data_version` poll off and a 60 s poll interval, a
    run queued by another process (`deploytool run`) ends its pause at once and the next pass claims it."""
    monkeypatch.setattr(db, "CHANGE_POLL_SECONDS", 3600.0)
    w = worker(store, poll_seconds=60.0, idle_poll_seconds=60.0, heartbeat_seconds=3600.0)
    w.register()
    make_deployment(store, project, write_flow(project, "pass"))
    w.pacer.sleep(idle=True)  # the first wait says "look once"
    pause = threading.Thread(target=w.pacer.sleep, args=(True,), daemon=True)
    pause.start()
    env = {**os.environ, "DEPLOYTOOL_STORE_URL": f"sqlite:///{db_path}"}
    subprocess.run([sys.executable, "-m", "deploytool", "run", "f/d"], env=env, check=True, capture_output=True)
    pause.join(30.0)  # a safety net at half the poll interval: a pause that only a timer ends is still going
    assert not pause.is_alive(), "the run queued by another process did not end the worker's pause"
    w.tick()
    [run] = store.runs.list()
    assert run.state in (RunState.RUNNING, RunState.COMPLETED)
    w.close()
