"""A waiter survives a PostgreSQL restart: its listening connection comes back by itself, it is told to look once
(notifications sent while nobody listened are lost), and later changes wake it again."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from deploytool.models import utcnow
from deploytool.store import Store, Topic
from tests.store import pg_cluster as pg
from tests.store.helpers import run_for
from tests.store.notify_helpers import POOL, Waiter, settled, setup_pool


@pytest.fixture
def own_cluster() -> Iterator[pg.Cluster]:
    """A cluster of this test's own: restarting the session's would cut other tests' connections."""
    with pg.running() as cluster:
        yield cluster


def _restart(cluster: pg.Cluster) -> None:
    # The server's output goes to its log (a pipe would stay open as long as the server runs).
    command = [str(cluster.pg_ctl), "-D", str(cluster.folder / "data"), "-l", str(cluster.log), "-m", "fast"]
    subprocess.run(
        [*command, "-w", "-t", "120", "restart"],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=cluster.user,
        cwd=cluster.folder,
    )


def test_after_a_server_restart_the_waiter_looks_once_and_is_woken_again(own_cluster: pg.Cluster) -> None:
    url = own_cluster.fresh_database()
    with Store.open(url) as store:
        with Store.open(url) as setup:
            deployment = setup_pool(setup)
        topics = (Topic.pool(POOL),)
        settled(store, topics)
        waiter = Waiter(store, topics)
        _restart(own_cluster)
        assert waiter.outcome() is True  # reconnected: "look now", whatever was missed
        with Store.open(url) as other:  # a run queued after the restart, by another host
            waiter = Waiter(store, topics)
            other.runs.create(run_for(deployment, at=utcnow()))
            assert waiter.outcome() is True
            assert store.runs.claim_next(POOL, None, "w1", 30, store.now()) is not None
