"""Fixtures for the store tests: a real SQLite file per test, with one process pool and deployment; a fresh store
of each backend (`store_factory`, `any_store`, and `shared` with the worker tests' pool)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.models import Deployment, WorkPool
from deploytool.store import Store
from tests.store import pg_cluster as pg
from tests.store.backends import BACKENDS, StoreFactory, sqlite_factory
from tests.worker.helpers import make_pool
from tests.worker_support import project

__all__ = ["project"]  # a project directory, as the worker tests have (tests/worker_support.py)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "deploytool.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as s:
        yield s


@pytest.fixture
def pool(store: Store) -> WorkPool:
    return store.pools.create(WorkPool(name="local", type="process"))


@pytest.fixture
def deployment(store: Store, pool: WorkPool) -> Deployment:
    stored, _ = store.deployments.upsert(
        Deployment(flow_name="etl", name="nightly", entrypoint="flows.py:etl", pool_name=pool.name)
    )
    return stored


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.Cluster | str]:
    """One PostgreSQL cluster for the session, or why there is none (see tests/store/pg_cluster.py)."""
    yield from pg.started()


@pytest.fixture
def postgres(pg_cluster: pg.Cluster | str, monkeypatch: pytest.MonkeyPatch) -> pg.Cluster:
    """The session's PostgreSQL cluster; skips (fails in CI) when none could be started. Every host of a
    PostgreSQL store is given its secret key explicitly: so is this test (and the processes it starts)."""
    cluster = pg.usable(pg_cluster)
    monkeypatch.setenv("DEPLOYTOOL_SECRET_KEY", pg.TEST_SECRET_KEY)
    return cluster


@pytest.fixture(params=BACKENDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A fresh store of each backend (the contract suite runs once per backend)."""
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres")
        return StoreFactory("postgresql", cluster.fresh_database())
    return sqlite_factory(tmp_path)


@pytest.fixture
def any_store(store_factory: StoreFactory) -> Iterator[Store]:
    with store_factory.open() as s:
        yield s


@pytest.fixture
def shared(store_factory: StoreFactory) -> Iterator[Store]:
    """A fresh store of each backend with the process pool `p` of the worker tests (tests/worker/helpers.py)."""
    with store_factory.open() as s:
        make_pool(s)
        yield s
