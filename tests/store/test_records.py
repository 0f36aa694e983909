"""Logs, workers, variables and blocks."""

from __future__ import annotations

import pytest

from deploytool.errors import NotFoundError
from deploytool.models import Block, Deployment, LogLine, PoolStatus, WorkPool
from deploytool.store import Store
from tests.store.helpers import NOW, later, run_for


def _line(n: int) -> LogLine:
    return LogLine(run_id="", time=later(n), level="INFO", source="stdout", message=f"line {n}")


def test_logs_append_and_follow(store: Store, deployment: Deployment) -> None:
    run = store.runs.create(run_for(deployment))
    last = store.logs.append(run.id, [_line(i) for i in range(5)])
    assert store.logs.append(run.id, []) == 0
    first_page = store.logs.read(run.id, limit=3)
    assert [line.message for line in first_page] == ["line 0", "line 1", "line 2"]
    assert first_page[0].run_id == run.id and first_page[0].time == later(0)
    rest = store.logs.read(run.id, after_id=first_page[-1].id)
    assert [line.message for line in rest] == ["line 3", "line 4"] and rest[-1].id == last
    assert store.logs.read(run.id, after_id=last) == []


def test_workers_heartbeat_and_pool_status(store: Store, pool: WorkPool) -> None:
    assert store.workers.pool_status(pool.name, NOW) is PoolStatus.NOT_READY
    store.workers.heartbeat("w1", pool.name, "host-a", 123, NOW)
    store.workers.heartbeat("w1", pool.name, "host-a", 456, later(10))
    [worker] = store.workers.list(pool.name)
    assert (worker.pid, worker.last_heartbeat) == (456, later(10))
    assert store.workers.pool_status(pool.name, later(25)) is PoolStatus.READY
    assert store.workers.pool_status(pool.name, later(26)) is PoolStatus.NOT_READY  # stale: a lease (15 s) old
    store.pools.update(pool.name, paused=True)
    assert store.workers.pool_status(pool.name, later(20)) is PoolStatus.PAUSED


def test_workers_delete(store: Store, pool: WorkPool) -> None:
    store.workers.heartbeat("old", pool.name, "h", 1, NOW)
    store.workers.heartbeat("new", pool.name, "h", 2, later(300))
    assert store.workers.delete_stale(later(100)) == 1
    store.workers.delete(pool.name, "new")
    assert store.workers.list() == []
    with pytest.raises(NotFoundError):
        store.workers.delete(pool.name, "new")


def test_variables(store: Store) -> None:
    store.variables.set("image", "registry/app:1")
    store.variables.set("limits", {"cpu": 2, "tags": ["a"]})
    store.variables.set("image", "registry/app:2")
    assert store.variables.get("image").value == "registry/app:2"
    assert [(v.name, v.value) for v in store.variables.list()] == [
        ("image", "registry/app:2"),
        ("limits", {"cpu": 2, "tags": ["a"]}),
    ]
    store.variables.delete("image")
    with pytest.raises(NotFoundError, match="variable 'image' is not set"):
        store.variables.get("image")
    with pytest.raises(NotFoundError):
        store.variables.delete("image")


def test_blocks(store: Store) -> None:
    block = Block("docker-registry-credentials", "prod", {"username": "u", "password": "p"}, ["password"])
    store.blocks.set(block)
    got = store.blocks.get("docker-registry-credentials", "prod")  # the public view: no key needed
    assert (got.data, got.secret_fields) == ({"username": "u", "password": "********"}, ["password"])
    assert store.blocks.reveal("docker-registry-credentials", "prod").data == block.data  # decrypted
    store.blocks.set(Block("secret", "token", {"value": "x"}, ["value"]))
    assert [b.name for b in store.blocks.list()] == ["prod", "token"]
    assert [b.name for b in store.blocks.list("secret")] == ["token"]
    store.blocks.delete("secret", "token")
    with pytest.raises(NotFoundError, match="block secret/token not found"):
        store.blocks.get("secret", "token")
