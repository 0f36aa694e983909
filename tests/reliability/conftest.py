from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.store import Store
from tests.reliability.helpers import Workers
from tests.store import pg_cluster as pg
from tests.worker.helpers import make_pool
from tests.worker_support import db_path, project, store

__all__ = ["db_path", "project", "store"]  # the fixtures of the worker tests (tests/worker_support.py)


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[pg.Cluster | str]:
    """A PostgreSQL server for the module's tests alone (they stop it or cut it off), or why there is none."""
    yield from pg.started()


@pytest.fixture
def cluster(own_cluster: pg.Cluster | str) -> pg.Cluster:
    return pg.usable(own_cluster)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each backend (PostgreSQL: a database on the module's own server), with pool `p`."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("cluster").fresh_database()
    else:
        url = f"sqlite:///{tmp_path / 'shared' / 'deploytool.db'}"
    with Store.open(url) as opened:
        make_pool(opened)
    return url


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.kill_all()
