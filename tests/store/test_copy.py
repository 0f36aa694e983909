"""`store copy`: everything moves between SQLite and PostgreSQL and back, all or nothing."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from deploytool.errors import ConflictError
from deploytool.models import Block, Deployment, FlowRun, LogLine, RunState, WorkPool
from deploytool.store import Store, copy_store
from deploytool.store.copy import COLUMNS
from deploytool.store.sql import DATA_TABLES
from tests.store import pg_cluster as pg
from tests.store.helpers import NOW, later


def _fill(store: Store) -> None:
    store.pools.create(WorkPool("p", "process", concurrency_limit=4, description="Ü"))
    store.queues.create("p", "low", concurrency_limit=1)
    d, _ = store.deployments.upsert(
        Deployment("etl", "nightly", "f.py:f", "p", parameters={"n": [1, 2]}, crash_retries={"max": 2})
    )
    store.schedules.set_mark(d.id, "s1", later(60))
    for i in range(7):
        run = store.runs.create(
            FlowRun("etl", "nightly", "p", d.id, name=f"r{i}", created=later(i), scheduled_time=NOW)
        )
        store.logs.append(run.id, [LogLine(run.id, later(i), "INFO", "stdout", f"{i}-{n}") for n in range(3)])
    store.runs.claim_next("p", None, "w1", 30, later(1))
    store.workers.heartbeat("w1", "p", "host", 42, later(2), lease_seconds=45.0)
    store.variables.set("v", {"a": 1})
    store.blocks.set(Block("secret", "prod", {"value": "hunter2"}, ["value"]))


def _everything(store: Store) -> dict[str, object]:
    runs = store.runs.list(limit=100)
    return {
        "pools": store.pools.list(),
        "queues": store.queues.list(),
        "deployments": store.deployments.list(),
        "marks": {d.id: store.schedules.marks(d.id) for d in store.deployments.list()},
        "runs": runs,
        "logs": {r.id: [replace(line, id=None) for line in store.logs.read(r.id)] for r in runs},
        "workers": store.workers.list(),
        "variables": store.variables.list(),
        "blocks": store.blocks.list(),
    }


def test_everything_goes_to_postgresql_and_back(postgres: pg.Cluster, tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.db") as source:
        _fill(source)
        before = _everything(source)
        counts = source.table_counts()
        with Store.open(postgres.fresh_database()) as middle:
            result = copy_store(source, middle)
            assert result.counts == counts and not result.replaced
            assert _everything(middle) == before
            with Store.open(tmp_path / "b.db") as back:
                copy_store(middle, back)
                assert _everything(back) == before
                # The copies are live stores: the next claim takes the same run everywhere.
                assert back.runs.claim_next("p", None, "w2", 30, later(9)) == middle.runs.claim_next(
                    "p", None, "w2", 30, later(9)
                )


def test_a_non_empty_target_is_refused_unless_replaced(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.db") as source, Store.open(tmp_path / "b.db") as target:
        _fill(source)
        target.variables.set("mine", 1)
        with pytest.raises(ConflictError, match=r"not empty \(1 variables\)") as err:
            copy_store(source, target)
        assert "--replace" in (err.value.hint or "")
        assert [v.name for v in target.variables.list()] == ["mine"]
        result = copy_store(source, target, replace=True)
        assert result.replaced and [v.name for v in target.variables.list()] == ["v"]


def test_a_copy_that_fails_leaves_the_target_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import deploytool.store.copy as copying

    with Store.open(tmp_path / "a.db") as source, Store.open(tmp_path / "b.db") as target:
        _fill(source)
        target.variables.set("mine", 1)
        original = copying._pages

        def failing(db: object, conn: object, table: str) -> object:
            if table == "logs":
                raise OSError("disk full")
            return original(db, conn, table)  # type: ignore[arg-type]

        monkeypatch.setattr(copying, "_pages", failing)
        with pytest.raises(OSError, match="disk full"):
            copy_store(source, target, replace=True)
        assert [v.name for v in target.variables.list()] == ["mine"] and target.runs.list() == []


def test_the_copied_columns_are_every_column_of_both_schemas(postgres: pg.Cluster, tmp_path: Path) -> None:
    Store.open(tmp_path / "s.db").close()
    conn = sqlite3.connect(tmp_path / "s.db")
    for table in DATA_TABLES:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        assert set(columns) - {"id"} == set(COLUMNS[table]) - {"id"}, table
    conn.close()
    with psycopg.connect(postgres.fresh_database()) as pconn:
        for table in DATA_TABLES:
            rows = pconn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
            ).fetchall()
            assert {r[0] for r in rows} - {"id", "seq"} == set(COLUMNS[table]) - {"id"}, table


def test_run_states_and_order_survive(postgres: pg.Cluster, tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.db") as source:
        source.pools.create(WorkPool("p", "process"))
        same = [FlowRun("f", "d", "p", None, name=f"same{i}", created=NOW, state=RunState.COMPLETED) for i in range(5)]
        source.runs.insert_many(same)
        with Store.open(postgres.fresh_database()) as target:
            copy_store(source, target)
            assert [r.name for r in target.runs.list()] == [r.name for r in source.runs.list()]
