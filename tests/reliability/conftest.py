from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.store import Store
from tests.reliability.helpers import Workers
from tests.store import pg_cluster as pg
from tests.worker.helpers import make_pool


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "deploytool.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as opened:
        make_pool(opened)
        yield opened


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


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
