"""An idle worker on PostgreSQL is woken by a notification: with a 60 s poll interval it still takes a run queued
by another process (another host, as far as the store can tell) at once. The test waits for the event (the run
was claimed) with a safety net far below the poll interval; it asserts no speed (benchmarks/bench_hosts.py does).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from deploytool.models import TERMINAL, RunState
from deploytool.store import Store
from tests.store import pg_cluster as pg
from tests.worker.helpers import make_deployment, make_pool, queue_run, state_of, wait_for, worker, write_flow
from tests.worker_support import start_worker

POLL = 60.0  # the worker's poll interval: a claim that waited for a poll would take this long
WITHIN = 30.0  # the safety net for "at once": half the poll interval


@pytest.fixture
def url(postgres: pg.Cluster) -> str:
    return postgres.fresh_database()


@pytest.fixture
def worker_process(url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = tmp_path / "worker.log"
    env = {"DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(tmp_path / "worker-host")}
    with Store.open(url) as store:
        make_pool(store)
    proc = start_worker("far", "--poll-seconds", str(POLL), "--heartbeat-seconds", "300", env=env, log=log)
    try:
        yield proc, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # acted on at the worker's next pass...
            with Store.open(url) as store:  # ...which a notification to its pool starts now, not a poll later
                store.pools.update("p", concurrency_limit=100)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _listening(store: Store) -> bool:
    """Whether a worker's notification connection is open (what an idle worker waits on)."""
    from deploytool.store.sqlstore import SqlStore

    assert isinstance(store, SqlStore)
    with store.database.read() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'deploytool-listen'"
            " AND datname = current_database()"
        ).fetchone()
    return int(row[0]) > 0


def test_an_idle_worker_with_a_long_poll_interval_takes_a_run_from_another_host_at_once(
    url: str, worker_process: tuple[subprocess.Popen[bytes], Path], tmp_path: Path
) -> None:
    proc, log = worker_process
    project = tmp_path / "project"
    project.mkdir()
    with Store.open(url) as other:
        deployment = make_deployment(other, project, write_flow(project, "print('hello from far away')"))
        wait_for(lambda: bool(other.workers.list()) and _listening(other), timeout=120)
        for _ in range(2):  # the second run is queued after the first has ended: the worker idles again
            time.sleep(2.0)  # let the worker settle into its long wait (a claim made by a pass proves nothing)
            run = queue_run(other, deployment)
            try:
                wait_for(lambda run_id=run.id: state_of(other, run_id) is not RunState.SCHEDULED, timeout=WITHIN)
            except AssertionError:
                pytest.fail(f"the run waited for the worker's poll, not a notification:\n{log.read_text()}")
            wait_for(lambda run_id=run.id: state_of(other, run_id) in TERMINAL, timeout=120)
            assert state_of(other, run.id) is RunState.COMPLETED, log.read_text()
    assert proc.poll() is None


def test_an_idle_pass_on_postgresql_writes_nothing(url: str) -> None:
    """Between heartbeats an idle worker only reads: with every table it could write locked by another session
    (reads still allowed), its passes go on; a write would wait and fail after the session's lock_timeout."""
    with Store.open(url) as setup:
        make_pool(setup)
    with Store.open(f"{url}?options=-c%20lock_timeout%3D5000") as store:
        w = worker(store, heartbeat_seconds=3600.0)
        now = store.now()
        w.register(now)
        w.tick(now)  # the first pass: the scheduler's too (every 10 s)
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("BEGIN")
            other.execute("LOCK TABLE work_pools, work_queues, deployments, flow_runs, logs, workers IN EXCLUSIVE MODE")
            try:
                for i in range(5):
                    w.tick(now + timedelta(seconds=i + 1))  # heartbeat and scheduler pass not due
                    assert store.wait_for_change([], 0) in (True, False)  # waiting writes nothing either
            finally:
                other.execute("ROLLBACK")
        w.close()
