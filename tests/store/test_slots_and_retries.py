"""Concurrency slots are freed by every way a run ends; crash retries and manual retries through the store;
the migration runner with a gap in the numbering."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from deploytool import crashretry
from deploytool.errors import ConflictError
from deploytool.models import Deployment, FlowRun, RunState, WorkPool
from deploytool.store import Store
from deploytool.store.sqlite_migrate import _pending
from tests.store.helpers import later, run_for

ENDINGS = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED", "lease expiry"]


def _limited(store: Store, pool: WorkPool, deployment: Deployment, limit_on: str) -> Deployment:
    if limit_on == "pool":
        store.pools.update(pool.name, concurrency_limit=1)
    elif limit_on == "queue":
        store.queues.update(pool.name, "default", concurrency_limit=1)
    else:
        deployment, _ = store.deployments.upsert(
            Deployment(
                deployment.flow_name, deployment.name, deployment.entrypoint, pool.name, concurrency_limit={"limit": 1}
            )
        )
    return deployment


def _claim(store: Store, pool: WorkPool, at: datetime, worker: str = "w") -> str | None:
    run = store.runs.claim_next(pool.name, None, worker, 30, at)
    return None if run is None else run.id


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("limit_on", ["pool", "queue", "deployment"])
def test_every_ending_frees_the_slot(
    store: Store, pool: WorkPool, deployment: Deployment, limit_on: str, ending: str
) -> None:
    deployment = _limited(store, pool, deployment, limit_on)
    first = store.runs.create(run_for(deployment, at=later(0)))
    second = store.runs.create(run_for(deployment, at=later(1)))
    assert _claim(store, pool, later(2)) == first.id
    store.runs.set_state(first.id, RunState.RUNNING, now=later(3))
    assert _claim(store, pool, later(4)) is None  # the one slot is held
    if ending == "lease expiry":
        assert store.runs.recover_expired(later(100))[0][1] is RunState.CRASHED
    elif ending == "CANCELLED":
        store.runs.set_state(first.id, RunState.CANCELLING, now=later(5))
        assert _claim(store, pool, later(6)) is None  # CANCELLING still holds it
        store.runs.set_state(first.id, RunState.CANCELLED, now=later(7))
    else:
        store.runs.set_state(first.id, RunState(ending), now=later(5))
    assert _claim(store, pool, later(200)) == second.id


def _crash_policy(store: Store, deployment: Deployment, **policy: object) -> Deployment:
    stored, _ = store.deployments.upsert(
        Deployment(
            deployment.flow_name, deployment.name, deployment.entrypoint, deployment.pool_name,
            crash_retries=crashretry.normalise(policy),
        )
    )  # fmt: skip
    return stored


def _hook(store: Store, now: datetime):  # type: ignore[no-untyped-def]
    def hook(run: FlowRun, previous: RunState) -> tuple[datetime, str] | None:
        assert run.deployment_id is not None
        policy = store.deployments.get(run.deployment_id).crash_retries
        decision = crashretry.plan(policy, run, now, previous=previous)
        return None if decision is None else (decision.at, decision.message)

    return hook


def test_lease_expiry_crash_is_retried_once_with_backoff(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    deployment = _crash_policy(store, deployment, max=3, backoff_seconds=10)
    run = store.runs.create(run_for(deployment, at=later(0)))
    for attempt, delay in [(1, 10), (2, 20), (3, 40)]:
        assert _claim(store, pool, later(10_000 * attempt)) == run.id
        store.runs.set_state(run.id, RunState.RUNNING, now=later(10_000 * attempt))
        now = later(10_000 * attempt + 100)
        ((recovered, state),) = store.runs.recover_expired(now, on_crash=_hook(store, now))
        assert state is RunState.SCHEDULED and recovered.attempt == attempt + 1
        assert recovered.scheduled_time == now + timedelta(seconds=delay)
        assert recovered.state_message is not None
        assert recovered.state_message.startswith("crashed: worker 'w' stopped renewing its lease")
        assert f"; retry {attempt} of 3 at " in recovered.state_message
        # A second recovery (another worker, the same moment) finds nothing: no double schedule.
        assert store.runs.recover_expired(now, on_crash=_hook(store, now)) == []
        # Nor may a stale retry of that crash go through.
        with pytest.raises(ConflictError):
            store.runs.retry(run.id, "again", now=now, expect_attempt=attempt)
    assert _claim(store, pool, later(50_000)) == run.id
    store.runs.set_state(run.id, RunState.RUNNING, now=later(50_000))
    now = later(50_100)
    ((final, state),) = store.runs.recover_expired(now, on_crash=_hook(store, now))
    assert state is RunState.CRASHED and final.attempt == 4  # three retries used: it stays CRASHED
    assert crashretry.exhausted_note(deployment.crash_retries, final) == "no crash retry left (3 used)"


def test_a_run_crashing_while_cancelling_is_not_retried(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    deployment = _crash_policy(store, deployment, max=3)
    run = store.runs.create(run_for(deployment, at=later(0)))
    _claim(store, pool, later(1))
    store.runs.set_state(run.id, RunState.RUNNING, now=later(1))
    store.runs.set_state(run.id, RunState.CANCELLING, now=later(2))
    now = later(100)
    ((_, state),) = store.runs.recover_expired(now, on_crash=_hook(store, now))
    assert state is RunState.CRASHED


def test_retry_refuses_active_runs_and_counts_attempts(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    run = store.runs.create(run_for(deployment, at=later(0)))
    with pytest.raises(ConflictError, match="only a finished run can be retried"):
        store.runs.retry(run.id, "x")
    _claim(store, pool, later(1))
    with pytest.raises(ConflictError, match="only a finished run can be retried"):
        store.runs.retry(run.id, "x")
    store.runs.set_state(run.id, RunState.RUNNING, now=later(2))
    store.runs.set_state(run.id, RunState.COMPLETED, now=later(3))
    again = store.runs.retry(run.id, "by hand", now=later(4))
    assert (again.state, again.attempt, again.scheduled_time, again.end_time) == (RunState.SCHEDULED, 2, later(4), None)


def test_backoff_doubles_and_is_capped() -> None:
    policy = crashretry.CrashRetryPolicy(max=10, backoff_seconds=30, max_backoff_seconds=100)
    assert [policy.delay(n) for n in range(1, 5)] == [30, 60, 100, 100]
    assert crashretry.normalise(2) == {"max": 2, "backoff_seconds": 30.0, "max_backoff_seconds": 600.0}
    assert crashretry.CrashRetryPolicy.from_mapping({"max": 0}) is None


def test_bulk_insert_keeps_runs_as_given(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    runs = [run_for(deployment, at=later(i), name=f"r{i}", state=RunState.COMPLETED) for i in range(25)]
    assert store.runs.insert_many(runs, batch=10) == 25
    assert len(store.runs.list(state=RunState.COMPLETED, limit=100)) == 25


def test_migrations_with_a_gap_apply_the_missing_one_later() -> None:
    conn = sqlite3.connect(":memory:")
    versions = [1, 2, 3]
    assert _pending(conn, versions, 3) == []  # an old store at version 3 without the table applied 1..3
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO schema_migrations VALUES (?)", [(1,), (3,)])
    assert _pending(conn, versions, 3) == [2]  # 0002 landed after 0003 had been applied


def test_every_migration_is_recorded(store: Store) -> None:
    with store._db.read() as conn:
        applied = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    from deploytool.store.sqlite_migrate import migrations

    assert applied == [v for v, _ in migrations()]
