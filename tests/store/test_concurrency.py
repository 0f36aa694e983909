"""Several OS processes on one store file: claims are exclusive and nobody sees "database is locked"."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deploytool.models import Deployment, FlowRun, RunState, WorkPool
from deploytool.store import Store
from tests.store import procs

RUNS = 300


def test_three_processes_claim_every_run_exactly_once(db_path: Path, tmp_path: Path) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    with Store.open(db_path) as store:
        store.pools.create(WorkPool("p", "process"))
        d, _ = store.deployments.upsert(Deployment("f", "d", "f.py:f", "p"))
        with store.transaction():
            for i in range(RUNS):
                store.runs.create(FlowRun("f", "d", "p", d.id, scheduled_time=past + timedelta(milliseconds=i)))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=3, mp_context=ctx) as pool:
        gates = str(tmp_path / "gates")
        futures = [pool.submit(procs.claim_all, str(db_path), "p", f"w{i}", gates, 3) for i in range(3)]
        # .result() re-raises any exception of a child, e.g. sqlite3.OperationalError("database is locked").
        per_worker = [f.result(timeout=600) for f in futures]
    claims = Counter(run_id for ids in per_worker for run_id in ids)
    assert len(claims) == RUNS
    assert set(claims.values()) == {1}, "a run was claimed twice"
    assert all(per_worker), f"a process claimed nothing: {[len(i) for i in per_worker]}"
    with Store.open(db_path) as store:
        runs = store.runs.list(limit=RUNS + 1)
        assert {r.state for r in runs} == {RunState.RUNNING}
        owner = {run_id: f"w{i}" for i, ids in enumerate(per_worker) for run_id in ids}
        assert all(r.worker_name == owner[r.id] for r in runs)


def test_two_processes_upserting_deployments_both_succeed(db_path: Path, tmp_path: Path) -> None:
    with Store.open(db_path) as store:
        store.pools.create(WorkPool("p", "process"))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        gates = str(tmp_path / "gates")
        futures = [pool.submit(procs.upsert_many, str(db_path), "p", name, 100, gates, 2) for name in "ab"]
        created = [f.result(timeout=600) for f in futures]
    assert created == [100, 100]
    with Store.open(db_path) as store:
        names = [d.name for d in store.deployments.list()]
    assert len(names) == 201 and names.count("shared") == 1


def test_processes_racing_to_create_a_new_store_all_succeed(db_path: Path, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=3, mp_context=ctx) as pool:
        gates = str(tmp_path / "gates")
        futures = [pool.submit(procs.open_fresh_and_write, str(db_path), f"v{i}", gates, 3) for i in range(3)]
        assert sorted(f.result(timeout=600) for f in futures) == ["v0", "v1", "v2"]
    with Store.open(db_path) as store:
        assert [v.name for v in store.variables.list()] == ["v0", "v1", "v2"]
