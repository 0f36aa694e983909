"""Deployments: upsert by name, lookups, delete, listing by source."""

from __future__ import annotations

import pytest

from deploytool.errors import NotFoundError
from deploytool.models import Deployment, RunState, WorkPool
from deploytool.store import Store
from tests.store.helpers import later, run_for


def _deployment(pool: WorkPool, **fields: object) -> Deployment:
    base: dict[str, object] = {
        "flow_name": "my_flow",
        "name": "prod",
        "entrypoint": "flows/etl.py:my_flow",
        "pool_name": pool.name,
    }
    base.update(fields)
    return Deployment(**base)  # type: ignore[arg-type]


def test_upsert_creates_then_updates_keeping_id(store: Store, pool: WorkPool) -> None:
    first, created = store.deployments.upsert(
        _deployment(
            pool,
            parameters={"b": 1, "a": [1, 2]},
            schedules=[{"cron": "0 * * * *", "timezone": "UTC", "active": True}],
            concurrency_limit={"limit": 1, "collision_strategy": "ENQUEUE"},
            tags=["etl"],
            source_file="/repo/deploy.yaml",
            content_hash="h1",
        )
    )
    assert created
    again, created = store.deployments.upsert(_deployment(pool, version="2", content_hash="h2"))
    assert not created
    assert again.id == first.id and again.created == first.created
    stored = store.deployments.get(first.id)
    assert (stored.version, stored.content_hash, stored.parameters, stored.concurrency_limit) == (
        "2",
        "h2",
        {},
        None,
    )


def test_fields_round_trip(store: Store, pool: WorkPool) -> None:
    d, _ = store.deployments.upsert(
        _deployment(
            pool,
            parameters={"b": 1, "a": [1, 2]},
            parameter_schema={"type": "object"},
            job_variables={"env": {"X": "1"}},
            pull_steps=[{"git_clone": {"repository": "x"}}],
            schedules=[{"interval": 60}],
            tags=["a", "b"],
            description="d",
            concurrency_limit={"limit": 2, "collision_strategy": "CANCEL_NEW"},
            enforce_parameter_schema=False,
            source_file="deploy.yaml",
        )
    )
    assert store.deployments.get(d.id) == d
    assert list(store.deployments.get(d.id).parameters) == ["b", "a"]


def test_flow_name_matches_with_dash_or_underscore(store: Store, pool: WorkPool) -> None:
    d, _ = store.deployments.upsert(_deployment(pool))
    assert store.deployments.get_by_name("my-flow", "prod").id == d.id
    assert store.deployments.get_by_name("my_flow", "prod").id == d.id
    _, created = store.deployments.upsert(_deployment(pool, flow_name="my-flow"))
    assert not created


def test_missing_deployment_hints_at_siblings(store: Store, pool: WorkPool) -> None:
    store.deployments.upsert(_deployment(pool))
    with pytest.raises(NotFoundError, match="my_flow/staging not found") as err:
        store.deployments.get_by_name("my_flow", "staging")
    assert err.value.hint is not None and "prod" in err.value.hint
    with pytest.raises(NotFoundError):
        store.deployments.get("no-such-id")


def test_upsert_into_missing_pool_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="work pool 'ghost' not found"):
        store.deployments.upsert(Deployment("f", "d", "f.py:f", "ghost"))


def test_upsert_creates_a_missing_queue(store: Store, pool: WorkPool) -> None:
    store.deployments.upsert(_deployment(pool, queue_name="critical"))
    assert [q.name for q in store.queues.list(pool.name)] == ["default", "critical"]


def test_list_and_list_by_source(store: Store, pool: WorkPool) -> None:
    other = store.pools.create(WorkPool("docker", "docker"))
    store.deployments.upsert(_deployment(pool, name="b", source_file="a.yaml"))
    store.deployments.upsert(_deployment(pool, name="a", source_file="b.yaml"))
    store.deployments.upsert(_deployment(other, name="c", source_file="a.yaml"))
    assert [d.name for d in store.deployments.list()] == ["a", "b", "c"]
    assert [d.name for d in store.deployments.list(pool_name="docker")] == ["c"]
    assert [d.name for d in store.deployments.list_by_source("a.yaml")] == ["b", "c"]


def test_many_upserts_in_one_transaction_are_atomic(store: Store, pool: WorkPool) -> None:
    with pytest.raises(NotFoundError), store.transaction():
        for i in range(100):
            store.deployments.upsert(_deployment(pool, name=f"d{i}"))
        store.deployments.upsert(_deployment(pool, name="bad", pool_name="ghost"))
    assert store.deployments.list() == []
    with store.transaction():
        for i in range(100):
            store.deployments.upsert(_deployment(pool, name=f"d{i}"))
    assert len(store.deployments.list()) == 100


def test_delete_removes_scheduled_runs_and_keeps_history(store: Store, deployment: Deployment) -> None:
    waiting = store.runs.create(run_for(deployment, at=later(3600)))
    active = store.runs.create(run_for(deployment))
    store.runs.claim_next(deployment.pool_name, None, "w", 30, later(1))
    assert store.deployments.delete(deployment.id) == 1
    with pytest.raises(NotFoundError):
        store.runs.get(waiting.id)
    kept = store.runs.get(active.id)
    assert (kept.state, kept.deployment_id, kept.deployment_name) == (RunState.PENDING, None, "nightly")
    with pytest.raises(NotFoundError):
        store.deployments.delete(deployment.id)


def test_pause_deployment(store: Store, deployment: Deployment) -> None:
    assert store.deployments.set_paused(deployment.id, True).paused
    assert not store.deployments.set_paused(deployment.id, False).paused
