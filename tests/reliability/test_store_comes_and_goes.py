"""A PostgreSQL store that comes and goes under real worker processes (issue 13, item 2; docs/reliability.md,
"Hosts that come and go").

- The server is restarted while runs are in flight: the worker says the store is away and when it is back,
  its runs keep running and end meanwhile, and once the server answers their every log line is stored exactly
  once and their outcome recorded, with the time they really ended.
- One worker is cut off from the database (a proxy drops its connections) for longer than its lease: its runs
  are recovered as CRASHED; when the connection is restored it learns that it lost them, stops the job that
  still runs (SIGTERM, then SIGKILL), stores the lines they printed meanwhile and overwrites no outcome.

Each test has a server of its own (it is stopped or cut), and waits for events, never for a time.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploytool.models import TERMINAL, RunState
from deploytool.store import Store
from tests.reliability.helpers import WAIT, Workers, gone
from tests.reliability.tcp_proxy import TcpProxy
from tests.store import pg_cluster as pg
from tests.worker.helpers import make_deployment, make_pool, queue_run, state_of, wait_for, write_flow

# Prints numbered lines until `release` exists, then 300 more, writes its pid and count to `done-N`, and ends.
CHATTY = """
import os, pathlib, signal, time
d, n = pathlib.Path(kwargs['dir']), kwargs['n']
if kwargs.get('ignore_term'):
    signal.signal(signal.SIGTERM, lambda *_: print(f'{n} got SIGTERM and carries on', flush=True))
(d / f'pid-{n}').write_text(str(os.getpid()))
i = 0
while not (d / kwargs['release']).exists():
    i += 1
    print(f'{n} before {i}', flush=True)
    time.sleep(0.05)
for j in range(1, 301):
    print(f'{n} after {j}', flush=True)
(d / f'done-{n}').write_text(str(i))
"""


def _lease_expired(store: Store, run_id: str) -> bool:
    lease = store.runs.get(run_id).lease_expires
    return lease is not None and lease < store.now()


def _messages(store: Store, run_id: str) -> list[str]:
    return [x.message for x in store.logs.read(run_id, limit=100_000)]


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    return project


@pytest.mark.slow
def test_a_postgresql_restart_loses_and_doubles_no_log_line_and_no_outcome(
    cluster: pg.Cluster, workers: Workers, tmp_path: Path
) -> None:
    url = cluster.fresh_database()
    project = _project(tmp_path)
    with Store.open(url) as store:
        make_pool(store)
        deployment = make_deployment(store, project, write_flow(project, CHATTY))
        runs = [queue_run(store, deployment, parameters={"dir": str(project), "n": n, "release": "go"}) for n in (1, 2)]
    workers.start("w", url, "--limit", "2", "--heartbeat-seconds", "1")
    with Store.open(url) as store:
        wait_for(lambda: all(f"{n} before 3" in _messages(store, r.id) for n, r in enumerate(runs, 1)), WAIT)
    pids = [int((project / f"pid-{n}").read_text()) for n in (1, 2)]

    cluster.stop_server()
    wait_for(lambda: "the store is unreachable" in workers.log("w"), WAIT)  # past its reconnection window
    (project / "go").touch()  # the flows finish while the database is down
    wait_for(lambda: all(gone(pid) for pid in pids), WAIT)
    wait_for(lambda: all(f"run {r.id}: its job ended while the store is away" in workers.log("w") for r in runs), WAIT)
    back = datetime.now(UTC)
    cluster.start_server()

    with Store.open(url) as store:
        wait_for(lambda: all(state_of(store, r.id) in TERMINAL for r in runs), WAIT)
        for n, run in zip((1, 2), runs, strict=True):
            done = store.runs.get(run.id)
            assert done.state is RunState.COMPLETED, done.state_message
            assert done.end_time is not None and done.end_time < back  # when it ended, not when it was recorded
            before = int((project / f"done-{n}").read_text())
            printed = [m for m in _messages(store, run.id) if m.startswith(f"{n} ")]
            expected = [f"{n} before {i}" for i in range(1, before + 1)] + [f"{n} after {j}" for j in range(1, 301)]
            assert printed == expected  # every line once, in order
            assert not [m for m, count in Counter(_messages(store, run.id)).items() if count > 1]
    assert workers.stop("w") == 0
    log = workers.log("w")
    assert "the store at 127.0.0.1" in log and "is unreachable" in log
    assert "reconnected to the store at 127.0.0.1" in log
    assert "the store answers again after" in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_a_worker_cut_off_longer_than_its_lease_stops_its_lost_runs_and_overwrites_nothing(
    cluster: pg.Cluster, workers: Workers, tmp_path: Path
) -> None:
    url = cluster.fresh_database()
    project = _project(tmp_path)
    proxy = TcpProxy(cluster.port)
    try:
        with Store.open(url) as store:
            make_pool(store)
            deployment = make_deployment(store, project, write_flow(project, CHATTY))
            ends = queue_run(store, deployment, parameters={"dir": str(project), "n": 1, "release": "go"})
            stays = queue_run(
                store, deployment, parameters={"dir": str(project), "n": 2, "release": "never", "ignore_term": True}
            )
            workers.start("cut", proxy.url(url), "--limit", "2", "--heartbeat-seconds", "1", "--stop-grace", "1")
            pairs = ((1, ends), (2, stays))
            wait_for(lambda: all(f"{n} before 3" in _messages(store, r.id) for n, r in pairs), WAIT)
            proxy.cut()  # longer than the lease (3 s): until its runs have been recovered
            wait_for(lambda: all(_lease_expired(store, r.id) for r in (ends, stays)), WAIT)
            # What any other worker's heartbeat does (deploytool.worker.leases). Called here rather than by a
            # second worker process: on one machine that worker would also end the cut-off worker's job processes
            # (leftovers of a dead worker on its own host), and the cut-off worker's part would go untested.
            recovered = store.runs.recover_expired(store.now())
            assert sorted(state for _, state in recovered) == [RunState.CRASHED, RunState.CRASHED]
            recorded = {r.id: store.runs.get(r.id) for r in (ends, stays)}
            assert all("worker 'cut' stopped renewing its lease" in (r.state_message or "") for r in recorded.values())
            wait_for(lambda: "worker cut: the store is unreachable" in workers.log("cut"), WAIT)
            (project / "go").touch()  # run 1 ends while its worker is cut off; run 2 ignores SIGTERM
            wait_for(lambda: f"run {ends.id}: its job ended while the store is away" in workers.log("cut"), WAIT)
            proxy.restore()

            stopped = int((project / "pid-2").read_text())
            wait_for(lambda: gone(stopped), WAIT)  # it learnt that it lost run 2 and stopped its job
            wait_for(lambda: "2 got SIGTERM and carries on" in _messages(store, stays.id), WAIT)  # then SIGKILL
            wait_for(lambda: "1 after 300" in _messages(store, ends.id), WAIT)  # late lines are still stored
            for run_id, before in recorded.items():
                after = store.runs.get(run_id)
                assert (after.state, after.state_message, after.end_time) == (
                    before.state, before.state_message, before.end_time,
                )  # fmt: skip
        assert workers.stop("cut") == 0
    finally:
        proxy.close()
    log = workers.log("cut")
    assert f"run {stays.id} is no longer held by worker cut: stopping its job (SIGTERM, then SIGKILL after 1s)" in log
    assert f"run {ends.id} is no longer held by worker cut: its job had ended" in log
    assert "Traceback" not in log
