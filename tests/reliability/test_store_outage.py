"""A store outage does not kill healthy runs (issue 10, item 3; docs/reliability.md).

Two workers each run a flow; an exclusive write lock is held on the SQLite file for longer than a lease, so
neither can heartbeat. When the lock goes, the first worker to write must not judge the other's lease, which
expired only because nobody could write: both runs complete. The workers' clocks are driven (`tick(now)`).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

from deploytool.models import TERMINAL, RunState, utcnow
from deploytool.store import Store
from tests.worker.helpers import make_deployment, queue_run, state_of, wait_for, worker, write_flow

WAIT_FOR_RELEASE = """
import os, time
while not os.path.exists(kwargs['release']):
    time.sleep(0.05)
print('finished normally')
"""


def test_a_lock_held_longer_than_a_lease_crashes_no_healthy_run(
    store: Store, db_path: Path, project: Path, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    deployment = make_deployment(
        store, project, write_flow(project, WAIT_FOR_RELEASE), parameters={"release": str(release)}
    )
    runs = [queue_run(store, deployment) for _ in range(2)]
    options = {"heartbeat_seconds": 5.0, "limit": 1}  # a lease of 15 s
    with Store.open(db_path) as other_store:
        a, b = worker(store, name="a", **options), worker(other_store, name="b", **options)
        t0 = utcnow()
        for w in (a, b):
            w.register(t0)
            w.tick(t0)
        wait_for(lambda: all(state_of(store, r.id) is RunState.RUNNING for r in runs))
        holders = {store.runs.get(r.id).worker_name for r in runs}
        assert holders == {"a", "b"}

        # The outage: another process holds the write lock while 25 s pass (the lease is 15 s).
        lock = sqlite3.connect(db_path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        after = t0 + timedelta(seconds=25)
        first = threading.Thread(target=a.tick, args=(after,))
        first.start()
        first.join(0.5)
        assert first.is_alive()  # a's heartbeat waits for the lock
        lock.execute("ROLLBACK")
        lock.close()
        first.join()
        # a wrote first after the outage; b's lease looks expired. Both go on beating every 5 s for a while.
        for seconds in range(26, 60):
            for w in (b, a):
                w.tick(after + timedelta(seconds=seconds - 25))
        assert [state_of(store, r.id) for r in runs] == [RunState.RUNNING, RunState.RUNNING]

        release.touch()
        now = after + timedelta(seconds=40)
        while not all(state_of(store, r.id) in TERMINAL for r in runs):
            now += timedelta(seconds=0.1)
            for w in (a, b):
                w.tick(now)
        for r in runs:
            done = store.runs.get(r.id)
            assert done.state is RunState.COMPLETED, done.state_message
        a.close()
        b.close()


def test_a_worker_that_could_not_write_still_recovers_a_dead_workers_run_one_lease_later(
    store: Store, project: Path
) -> None:
    run = queue_run(store, make_deployment(store, project, write_flow(project, "pass")))
    start = utcnow()
    assert store.runs.claim_next("p", None, "dead", 15.0, start) is not None
    store.runs.set_state(run.id, RunState.RUNNING, None, now=start, expect_worker="dead")
    w = worker(store, heartbeat_seconds=5.0, limit=1)
    w.register(start)
    w.tick(start + timedelta(seconds=30))  # 30 s without a heartbeat: an outage; the dead worker's lease expired
    assert state_of(store, run.id) is RunState.RUNNING  # not judged yet
    for seconds in (35, 40):
        w.tick(start + timedelta(seconds=seconds))
    assert state_of(store, run.id) is RunState.RUNNING  # still within one lease of its own first heartbeat
    w.tick(start + timedelta(seconds=45))  # one lease after its own heartbeat at 30 s
    recovered = store.runs.get(run.id)
    assert recovered.state is RunState.CRASHED and "dead" in (recovered.state_message or "")
    w.close()
