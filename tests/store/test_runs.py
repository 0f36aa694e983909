"""Flow runs: creation, listing, transitions, claiming, leases."""

from __future__ import annotations

import pytest

from deploytool.errors import ConflictError, NotFoundError
from deploytool.models import ALLOWED_TRANSITIONS, TERMINAL, Deployment, RunState, WorkPool
from deploytool.store import Store
from tests.store.helpers import NOW, later, run_for


def test_create_and_get_round_trip(store: Store, deployment: Deployment) -> None:
    run = store.runs.create(
        run_for(deployment, parameters={"n": 1}, job_variables={"env": {"A": "b"}}, idempotency_key="k")
    )
    assert run.name.startswith("nightly-")
    assert store.runs.get(run.id) == run
    assert run.state is RunState.SCHEDULED


def test_same_idempotency_key_returns_the_existing_run(store: Store, deployment: Deployment) -> None:
    first = store.runs.create(run_for(deployment, idempotency_key="scheduled d1 s1 2025-01-01T12:00"))
    second = store.runs.create(run_for(deployment, idempotency_key="scheduled d1 s1 2025-01-01T12:00"))
    assert second.id == first.id
    assert len(store.runs.list()) == 1


def test_run_in_missing_pool_is_not_found(store: Store, deployment: Deployment) -> None:
    with pytest.raises(NotFoundError, match="work pool"):
        store.runs.create(run_for(deployment, pool_name="ghost"))
    with pytest.raises(NotFoundError):
        store.runs.get("nope")


def test_list_newest_first_with_filters(store: Store, deployment: Deployment, pool: WorkPool) -> None:
    ids = [store.runs.create(run_for(deployment)).id for _ in range(5)]
    other, _ = store.deployments.upsert(Deployment("other", "x", "o.py:o", pool.name))
    other_run = store.runs.create(run_for(other))
    assert [r.id for r in store.runs.list(limit=3)] == [other_run.id, ids[4], ids[3]]
    assert [r.id for r in store.runs.list(deployment_id=deployment.id)] == ids[::-1]
    store.runs.set_state(ids[0], RunState.CANCELLED)
    assert [r.id for r in store.runs.list(state=RunState.CANCELLED)] == [ids[0]]
    assert len(store.runs.list(state=[RunState.SCHEDULED, RunState.CANCELLED])) == 6


def test_lifecycle_sets_times_and_clears_lease(store: Store, deployment: Deployment) -> None:
    run = store.runs.create(run_for(deployment))
    claimed = store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(1))
    assert claimed is not None and claimed.id == run.id
    running = store.runs.set_state(run.id, RunState.RUNNING, now=later(2), infrastructure_id="pid:42")
    assert (running.start_time, running.infrastructure_id) == (later(2), "pid:42")
    done = store.runs.set_state(run.id, RunState.COMPLETED, "ok", now=later(5), exit_code=0)
    assert (done.state, done.state_message, done.end_time, done.lease_expires, done.exit_code) == (
        RunState.COMPLETED,
        "ok",
        later(5),
        None,
        0,
    )
    assert store.runs.get(run.id) == done


def test_every_transition_outside_the_table_is_refused(store: Store, deployment: Deployment) -> None:
    refused = 0
    for old in RunState:
        for new in RunState:
            if new in ALLOWED_TRANSITIONS[old]:
                continue
            run = store.runs.create(run_for(deployment))
            _drive_to(store, run.id, old)
            with pytest.raises(ConflictError, match=f"is {old} and cannot become {new}"):
                store.runs.set_state(run.id, new)
            assert store.runs.get(run.id).state is old
            refused += 1
    assert refused > 30


def test_a_finished_run_needs_an_explicit_retry(store: Store, deployment: Deployment) -> None:
    run = store.runs.create(run_for(deployment))
    _drive_to(store, run.id, RunState.CRASHED)
    with pytest.raises(ConflictError, match="can only be retried"):
        store.runs.set_state(run.id, RunState.SCHEDULED)
    retried = store.runs.set_state(run.id, RunState.SCHEDULED, "retry 2", now=later(60), retry=True)
    assert (retried.state, retried.attempt, retried.worker_name, retried.end_time) == (
        RunState.SCHEDULED,
        2,
        None,
        None,
    )
    assert retried.scheduled_time == later(60)


def test_retry_of_an_unfinished_run_is_refused(store: Store, deployment: Deployment) -> None:
    run = store.runs.create(run_for(deployment))
    with pytest.raises(ConflictError, match="only a finished run can be retried"):
        store.runs.set_state(run.id, RunState.SCHEDULED, retry=True)


def test_expect_worker_detects_a_recovered_run(store: Store, deployment: Deployment) -> None:
    run = store.runs.create(run_for(deployment))
    store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(1))
    store.runs.recover_expired(later(60))
    store.runs.claim_next(deployment.pool_name, None, "w2", 30, later(61))
    with pytest.raises(ConflictError, match="no longer held by worker 'w1'"):
        store.runs.set_state(run.id, RunState.RUNNING, expect_worker="w1")
    assert store.runs.set_state(run.id, RunState.RUNNING, expect_worker="w2").state is RunState.RUNNING


def test_expect_attempt_keeps_an_old_attempts_outcome_off_the_same_workers_new_attempt(
    store: Store, deployment: Deployment
) -> None:
    """w1's attempt-1 job was recovered and retried, and w1 claimed the run again (attempt 2): when the old job
    ends, its outcome is refused, and the new attempt's states are recorded."""
    run = store.runs.create(run_for(deployment))
    store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(1))
    store.runs.set_state(run.id, RunState.RUNNING, now=later(2), expect_worker="w1", expect_attempt=1)
    store.runs.recover_expired(later(60))
    store.runs.retry(run.id, "crash retry", now=later(60))
    again = store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(61))
    assert again is not None and (again.worker_name, again.attempt) == ("w1", 2)
    with pytest.raises(ConflictError, match=r"no longer held by worker 'w1' \(it is PENDING at attempt 2, worker w1\)"):
        store.runs.set_state(run.id, RunState.FAILED, "exit 1", now=later(62), expect_worker="w1", expect_attempt=1)
    assert store.runs.get(run.id) == again
    running = store.runs.set_state(run.id, RunState.RUNNING, now=later(62), expect_worker="w1", expect_attempt=2)
    assert (running.state, running.attempt, running.worker_name) == (RunState.RUNNING, 2, "w1")


def test_unknown_fields_are_a_programming_error(store: Store, deployment: Deployment) -> None:
    run = store.runs.create(run_for(deployment))
    with pytest.raises(TypeError):
        store.runs.set_state(run.id, RunState.CANCELLED, parameters={})


def _drive_to(store: Store, run_id: str, target: RunState) -> None:
    """Move a fresh SCHEDULED run to `target` through legal transitions."""
    paths = {
        RunState.SCHEDULED: [],
        RunState.PENDING: [RunState.PENDING],
        RunState.RUNNING: [RunState.PENDING, RunState.RUNNING],
        RunState.CANCELLING: [RunState.PENDING, RunState.RUNNING, RunState.CANCELLING],
    }
    path = paths.get(target, [RunState.PENDING, RunState.RUNNING, target])
    if target is RunState.CANCELLED:
        path = [RunState.CANCELLED]
    for state in path:
        store.runs.set_state(run_id, state)
    assert store.runs.get(run_id).state is target


# --- claiming -----------------------------------------------------------------------------------------------


def test_claim_takes_due_runs_by_scheduled_time(store: Store, deployment: Deployment) -> None:
    late = store.runs.create(run_for(deployment, at=later(10)))
    early = store.runs.create(run_for(deployment, at=later(5)))
    store.runs.create(run_for(deployment, at=later(3600)))
    claimed = store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(20))
    assert claimed is not None and claimed.id == early.id
    assert (claimed.state, claimed.worker_name, claimed.lease_expires) == (RunState.PENDING, "w1", later(50))
    second = store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(20))
    assert second is not None and second.id == late.id
    assert store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(20)) is None


def test_claim_prefers_queue_priority_over_time(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    store.queues.create(pool.name, "urgent", priority=0)
    normal = store.runs.create(run_for(deployment, at=NOW))
    urgent = store.runs.create(run_for(deployment, at=later(5), queue_name="urgent"))
    assert _claim(store, pool) == urgent.id
    assert _claim(store, pool) == normal.id


def test_claim_only_from_named_queues(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    store.runs.create(run_for(deployment, queue_name="other"))
    assert store.runs.claim_next(pool.name, ["default"], "w", 30, later(1)) is None
    assert store.runs.claim_next(pool.name, ["other"], "w", 30, later(1)) is not None


def test_paused_pool_or_queue_gives_nothing(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    store.runs.create(run_for(deployment))
    store.pools.update(pool.name, paused=True)
    assert _claim(store, pool) is None
    store.pools.update(pool.name, paused=False)
    store.queues.update(pool.name, "default", paused=True)
    assert _claim(store, pool) is None
    store.queues.update(pool.name, "default", paused=False)
    assert _claim(store, pool) is not None


def test_claim_from_missing_pool(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.runs.claim_next("ghost", None, "w", 30, NOW)


@pytest.mark.parametrize("limit_on", ["pool", "queue", "deployment"])
def test_concurrency_limits_count_active_runs(
    store: Store, pool: WorkPool, deployment: Deployment, limit_on: str
) -> None:
    if limit_on == "pool":
        store.pools.update(pool.name, concurrency_limit=2)
    elif limit_on == "queue":
        store.queues.update(pool.name, "default", concurrency_limit=2)
    else:
        store.deployments.upsert(
            Deployment(
                deployment.flow_name,
                deployment.name,
                deployment.entrypoint,
                pool.name,
                concurrency_limit={"limit": 2, "collision_strategy": "ENQUEUE"},
            )
        )
    ids = [store.runs.create(run_for(deployment, at=later(i))).id for i in range(4)]
    first, second = _claim(store, pool), _claim(store, pool)
    assert [first, second] == ids[:2]
    assert _claim(store, pool) is None  # two PENDING runs fill the limit
    store.runs.set_state(ids[0], RunState.RUNNING)
    store.runs.set_state(ids[0], RunState.CANCELLING)
    assert _claim(store, pool) is None  # CANCELLING still holds its slot
    store.runs.set_state(ids[0], RunState.CANCELLED)
    assert _claim(store, pool) == ids[2]


def test_deployment_limit_does_not_block_other_deployments(
    store: Store, pool: WorkPool, deployment: Deployment
) -> None:
    limited, _ = store.deployments.upsert(
        Deployment("slow", "one", "s.py:s", pool.name, concurrency_limit={"limit": 1})
    )
    for i in range(5):
        store.runs.create(run_for(limited, at=later(i)))
    free = store.runs.create(run_for(deployment, at=later(10)))
    assert _claim(store, pool) is not None
    assert _claim(store, pool) == free.id


def test_cancel_new_strategy_cancels_instead_of_waiting(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    limited, _ = store.deployments.upsert(
        Deployment("f", "d", "f.py:f", pool.name, concurrency_limit={"limit": 1, "collision_strategy": "CANCEL_NEW"})
    )
    first = store.runs.create(run_for(limited, at=later(0)))
    second = store.runs.create(run_for(limited, at=later(1)))
    assert _claim(store, pool) == first.id
    assert _claim(store, pool) is None
    cancelled = store.runs.get(second.id)
    assert cancelled.state is RunState.CANCELLED
    assert cancelled.state_message is not None and "concurrency limit 1" in cancelled.state_message


def _claim(store: Store, pool: WorkPool, worker: str = "w") -> str | None:
    run = store.runs.claim_next(pool.name, None, worker, 30, later(3600))
    return None if run is None else run.id


# --- leases -------------------------------------------------------------------------------------------------


def test_renewed_leases_are_not_recovered(store: Store, deployment: Deployment) -> None:
    store.runs.create(run_for(deployment))
    store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(1))
    assert store.runs.renew_leases("w1", 30, later(25)) == 1
    assert store.runs.renew_leases("w2", 30, later(25)) == 0
    assert store.runs.recover_expired(later(40)) == []
    assert len(store.runs.recover_expired(later(56))) == 1


def test_expired_leases_requeue_pending_and_crash_running(store: Store, deployment: Deployment) -> None:
    pending = store.runs.create(run_for(deployment))
    running = store.runs.create(run_for(deployment, at=later(1)))
    store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(2))
    store.runs.claim_next(deployment.pool_name, None, "w1", 30, later(2))
    store.runs.set_state(running.id, RunState.RUNNING, now=later(3))
    recovered = {run.id: (run, state) for run, state in store.runs.recover_expired(later(100))}
    assert recovered[pending.id][1] is RunState.SCHEDULED
    assert recovered[running.id][1] is RunState.CRASHED
    requeued, crashed = store.runs.get(pending.id), store.runs.get(running.id)
    assert (requeued.state, requeued.worker_name, requeued.lease_expires) == (RunState.SCHEDULED, None, None)
    assert crashed.state is RunState.CRASHED and crashed.end_time == later(100)
    assert crashed.state_message is not None and "worker 'w1'" in crashed.state_message
    assert crashed.state in TERMINAL
    assert store.runs.claim_next(deployment.pool_name, None, "w2", 30, later(101)) == store.runs.get(pending.id)


def test_counts_per_pool(store: Store, pool: WorkPool, deployment: Deployment) -> None:
    for i in range(3):
        store.runs.create(run_for(deployment, at=later(i)))
    store.runs.claim_next(pool.name, None, "w", 30, later(10))
    counts = store.runs.counts()
    assert (counts[pool.name].queued, counts[pool.name].running) == (2, 1)
