"""deploytool.core.pools and core.queues used directly (the CLI tests cover their rendering)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from deploytool.core.pool_listing import inspect_pool, list_pools
from deploytool.core.pools import create_pool, delete_pool
from deploytool.core.queues import create_queue, delete_queue, resolve_pool
from deploytool.errors import ConflictError, DeploytoolError
from deploytool.models import Deployment, PoolStatus, utcnow
from deploytool.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "deploytool.db") as s:
        yield s


def test_status_follows_heartbeats(store: Store) -> None:
    create_pool(store, "p", "process")
    now = utcnow()
    store.workers.heartbeat("w", "p", "h", 1, now - timedelta(seconds=200))
    assert list_pools(store, now)[0].status is PoolStatus.NOT_READY
    detail = inspect_pool(store, "p", now)
    assert detail.workers[0].online is False
    store.workers.heartbeat("w", "p", "h", 1, now)
    assert list_pools(store, now)[0].status is PoolStatus.READY


def test_overwrite_cannot_change_type_under_deployments(store: Store) -> None:
    create_pool(store, "p", "process")
    store.deployments.upsert(Deployment("etl", "d", "f.py:etl", "p"))
    with pytest.raises(ConflictError, match="cannot become a docker pool"):
        create_pool(store, "p", "docker", overwrite=True)
    assert store.pools.get("p").type == "process"
    create_pool(store, "p", "process", overwrite=True, concurrency_limit=1)
    assert store.pools.get("p").concurrency_limit == 1


def test_invalid_template_given_as_data_is_refused(store: Store) -> None:
    with pytest.raises(DeploytoolError, match="1 problem"):
        create_pool(store, "p", "process", base_job_template={"job_configuration": {}, "variables": []})
    assert store.pools.list() == []


def test_queues(store: Store) -> None:
    create_pool(store, "p", "process")
    create_queue(store, "q", "p")
    assert resolve_pool(store, "q", None) == "p"
    assert delete_queue(store, "q", None).name == "q"
    assert [q.name for q in store.queues.list("p")] == ["default"]
    assert delete_pool(store, "p").deleted_deployments == 0
