"""Fixtures for the store tests: a real SQLite file per test, with one process pool and deployment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.models import Deployment, WorkPool
from deploytool.store import Store
from tests.store.backends import BACKENDS, StoreFactory, sqlite_factory


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


@pytest.fixture(params=BACKENDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A fresh store of each backend (the contract suite runs once per backend)."""
    return sqlite_factory(tmp_path)


@pytest.fixture
def any_store(store_factory: StoreFactory) -> Iterator[Store]:
    with store_factory.open() as s:
        yield s
