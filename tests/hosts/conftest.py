"""Fixtures of the multi-host tests: the hosts' network, and a PostgreSQL server that listens on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.helpers import Network, network, require_namespaces
from tests.store import pg_cluster as pg


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    """A bridge and its /24 on this machine; the test adds its hosts. Skips (fails in CI) where it cannot be made."""
    require_namespaces()
    with network(tmp_path / "hosts") as made:
        yield made


@pytest.fixture
def server(net: Network) -> Iterator[pg.Cluster]:
    """A PostgreSQL server of the test's own, on 127.0.0.1 and on the hosts' network (a restart cannot hurt others)."""
    with pg.running(listen=(net.gateway,), trusted=(net.cidr,)) as cluster:
        yield cluster
