"""Work pools and their queues."""

from __future__ import annotations

import pytest

from deploytool.errors import ConflictError, NotFoundError
from deploytool.models import Deployment, RunState, WorkPool
from deploytool.store import Store
from tests.store.helpers import NOW, later, run_for


def test_create_pool_stores_it_with_a_default_queue(store: Store) -> None:
    template = {"job_configuration": {"env": "{{ env }}"}, "variables": {"properties": {"env": {}}}}
    store.pools.create(WorkPool("local", "process", base_job_template=template, concurrency_limit=3))
    pool = store.pools.get("local")
    assert (pool.type, pool.base_job_template, pool.concurrency_limit, pool.paused) == (
        "process",
        template,
        3,
        False,
    )
    [queue] = store.queues.list("local")
    assert (queue.name, queue.priority) == ("default", 1)


def test_create_existing_pool_conflicts_unless_overwrite(store: Store, pool: WorkPool) -> None:
    with pytest.raises(ConflictError, match="already exists"):
        store.pools.create(WorkPool(pool.name, "docker"))
    store.queues.create(pool.name, "high", priority=0)
    store.pools.create(WorkPool(pool.name, "docker"), overwrite=True)
    assert store.pools.get(pool.name).type == "docker"
    assert store.pools.get(pool.name).created == pool.created
    assert {q.name for q in store.queues.list(pool.name)} == {"default", "high"}


def test_missing_pool_error_says_how_to_create_it(store: Store) -> None:
    with pytest.raises(NotFoundError) as err:
        store.pools.get("nope")
    assert err.value.hint == "create it: deploytool work-pool create nope --type process"


def test_update_changes_only_given_fields(store: Store, pool: WorkPool) -> None:
    store.pools.update(pool.name, concurrency_limit=2)
    store.pools.update(pool.name, paused=True)
    updated = store.pools.get(pool.name)
    assert (updated.concurrency_limit, updated.paused) == (2, True)
    store.pools.update(pool.name, concurrency_limit=None)
    assert store.pools.get(pool.name).concurrency_limit is None


def test_list_pools_by_name(store: Store) -> None:
    for name in ["b", "a", "c"]:
        store.pools.create(WorkPool(name, "process"))
    assert [p.name for p in store.pools.list()] == ["a", "b", "c"]


def test_delete_refuses_pool_with_deployments_or_active_runs(
    store: Store, pool: WorkPool, deployment: Deployment
) -> None:
    with pytest.raises(ConflictError, match="used by 1 deployment"):
        store.pools.delete(pool.name)
    store.runs.create(run_for(deployment))
    store.runs.claim_next(pool.name, None, "w1", 30, later(1))
    with pytest.raises(ConflictError, match="1 active run"):
        store.pools.delete(pool.name)
    assert store.pools.get(pool.name)


def test_force_delete_removes_deployments_and_cancels_active_runs(
    store: Store, pool: WorkPool, deployment: Deployment
) -> None:
    active = store.runs.create(run_for(deployment))
    waiting = store.runs.create(run_for(deployment, at=later(3600)))
    store.runs.claim_next(pool.name, None, "w1", 30, later(1))
    store.pools.delete(pool.name, force=True)
    with pytest.raises(NotFoundError):
        store.pools.get(pool.name)
    assert store.queues.list(pool.name) == []
    assert store.deployments.list() == []
    assert store.runs.get(active.id).state is RunState.CANCELLING
    with pytest.raises(NotFoundError):
        store.runs.get(waiting.id)


def test_delete_empty_pool(store: Store, pool: WorkPool) -> None:
    store.pools.delete(pool.name)
    assert store.pools.list() == []


# --- queues -------------------------------------------------------------------------------------------------


def test_new_queue_takes_next_priority_and_names_must_be_unique(store: Store, pool: WorkPool) -> None:
    assert store.queues.create(pool.name, "low").priority == 2
    assert store.queues.create(pool.name, "urgent", priority=0).priority == 0
    assert [q.name for q in store.queues.list(pool.name)] == ["urgent", "default", "low"]
    with pytest.raises(ConflictError):
        store.queues.create(pool.name, "low")


def test_queue_in_missing_pool(store: Store) -> None:
    with pytest.raises(NotFoundError, match="work pool 'x' not found"):
        store.queues.create("x", "q")


def test_queue_get_missing_names_existing_queues(store: Store, pool: WorkPool) -> None:
    with pytest.raises(NotFoundError, match=r"its queues: default"):
        store.queues.get(pool.name, "nope")


def test_queue_update(store: Store, pool: WorkPool) -> None:
    store.queues.update(pool.name, "default", priority=5, concurrency_limit=1, paused=True)
    q = store.queues.get(pool.name, "default")
    assert (q.priority, q.concurrency_limit, q.paused) == (5, 1, True)


def test_default_queue_cannot_be_deleted(store: Store, pool: WorkPool) -> None:
    with pytest.raises(ConflictError, match="cannot be deleted"):
        store.queues.delete(pool.name, "default")


def test_queue_in_use_cannot_be_deleted(store: Store, pool: WorkPool) -> None:
    store.deployments.upsert(Deployment("f", "d", "f.py:f", pool.name, queue_name="side"))
    with pytest.raises(ConflictError, match="in use"):
        store.queues.delete(pool.name, "side")
    store.queues.create(pool.name, "spare")
    store.queues.delete(pool.name, "spare")
    assert [q.name for q in store.queues.list(pool.name)] == ["default", "side"]


def test_unused_fixture_time_is_aware() -> None:
    assert NOW.tzinfo is not None
