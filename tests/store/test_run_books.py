"""What the store says about runs, exactly as `flow-run inspect`, `why`, `work-pool ls` and the recovery of a
lost worker show it: recovery messages, counts per pool, finding by id prefix, list limits, retry and lease
renewal by pool. (Written against the surviving mutants of store/runs.py: docs/quality.md.)"""

from __future__ import annotations

import pytest

from deploytool.errors import ConflictError, NotFoundError
from deploytool.models import Deployment, RunCounts, RunState, WorkPool
from deploytool.store import Store
from tests.store.helpers import NOW, later, run_for


def _claimed(store: Store, deployment: Deployment, worker: str = "w1", pool: str = "local") -> str:
    run = store.runs.create(run_for(deployment))
    claimed = store.runs.claim_next(pool, None, worker, 30, NOW)
    assert claimed is not None and claimed.id == run.id
    return run.id


def test_a_lost_lease_is_explained_in_the_run_s_message(store: Store, deployment: Deployment) -> None:
    pending = _claimed(store, deployment)
    running = _claimed(store, deployment)
    store.runs.set_state(running, RunState.RUNNING, now=NOW)
    expired = later(30).isoformat(timespec="seconds")
    recovered = {r.id: state for r, state in store.runs.recover_expired(later(60))}
    assert recovered == {pending: RunState.SCHEDULED, running: RunState.CRASHED}
    assert store.runs.get(pending).state_message == (
        f"worker 'w1' lost its lease (expired {expired}) before starting the run; re-queued"
    )
    assert store.runs.get(running).state_message == (
        f"worker 'w1' stopped renewing its lease (expired {expired}); the run's outcome is unknown"
    )


def test_counts_per_pool_add_every_active_state_and_say_zero_for_none(store: Store, deployment: Deployment) -> None:
    pending = _claimed(store, deployment)
    running = _claimed(store, deployment)
    cancelling = _claimed(store, deployment)
    store.runs.set_state(running, RunState.RUNNING, now=NOW)
    store.runs.set_state(cancelling, RunState.RUNNING, now=NOW)
    store.runs.set_state(cancelling, RunState.CANCELLING, now=NOW)
    assert store.runs.get(pending).state is RunState.PENDING
    assert store.runs.counts() == {"local": RunCounts(queued=0, running=3)}
    store.pools.create(WorkPool(name="other", type="process"))
    store.runs.create(run_for(deployment, pool_name="other"))
    assert store.runs.counts() == {"local": RunCounts(queued=0, running=3), "other": RunCounts(queued=1, running=0)}


def test_find_by_id_prefix_takes_every_id_that_starts_so_and_at_most_six(store: Store, deployment: Deployment) -> None:
    ids = [f"ab{c}0" + "0" * 28 for c in "0189af"] + ["ab" + "f" * 30, "ac" + "0" * 30]
    for run_id in ids:
        store.runs.create(run_for(deployment, id=run_id))
    assert [r.id for r in store.runs.find("AB", limit=10)] == sorted(ids[:-1])
    assert [r.id for r in store.runs.find("ab")] == sorted(ids[:-1])[:6]
    assert [r.id for r in store.runs.find("abf")] == ["abf0" + "0" * 28, "ab" + "f" * 30]


def test_a_list_without_a_limit_gives_the_newest_fifty(store: Store, deployment: Deployment) -> None:
    created = [store.runs.create(run_for(deployment, created=later(i))) for i in range(51)]
    listed = store.runs.list()
    assert len(listed) == 50 and listed[0].id == created[-1].id and created[0].id not in {r.id for r in listed}


def test_a_state_change_of_an_unknown_run_says_how_to_list_runs(store: Store) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.runs.set_state("nope", RunState.CANCELLED)
    assert (caught.value.message, caught.value.hint) == (
        "flow run 'nope' not found",
        "list runs: deploytool flow-run ls",
    )


def test_a_retry_clears_what_the_last_attempt_left(store: Store, deployment: Deployment) -> None:
    run_id = _claimed(store, deployment)
    store.runs.set_state(run_id, RunState.RUNNING, now=NOW)
    assert store.runs.set_infrastructure_id(run_id, "w1", "container-1")
    store.runs.set_state(run_id, RunState.FAILED, "boom", now=later(5), exit_code=1)
    retried = store.runs.retry(run_id, "again", now=later(10))
    assert (retried.infrastructure_id, retried.exit_code, retried.start_time, retried.end_time) == (None,) * 4
    assert (retried.attempt, retried.scheduled_time, retried.state) == (2, later(10), RunState.SCHEDULED)


def test_a_second_retry_of_the_same_attempt_is_refused_with_where_to_look(store: Store, deployment: Deployment) -> None:
    run_id = _claimed(store, deployment)
    store.runs.set_state(run_id, RunState.RUNNING, now=NOW)
    store.runs.set_state(run_id, RunState.FAILED, "boom", now=NOW)
    store.runs.retry(run_id, "again", now=NOW, expect_attempt=1)
    with pytest.raises(ConflictError) as caught:
        store.runs.retry(run_id, "again", now=NOW, expect_attempt=1)
    name = store.runs.get(run_id).name
    assert caught.value.message == f"flow run {name!r} was already retried (it is at attempt 2, SCHEDULED)"
    assert caught.value.hint == f"see it: deploytool flow-run inspect {run_id[:8]}"


def test_renewing_leases_in_one_pool_leaves_the_worker_s_other_pools_alone(
    store: Store, deployment: Deployment
) -> None:
    store.pools.create(WorkPool(name="other", type="process"))
    here = _claimed(store, deployment)
    store.runs.create(run_for(deployment, pool_name="other"))
    there = store.runs.claim_next("other", None, "w1", 30, NOW)
    assert there is not None
    assert store.runs.renew_leases("w1", 120, later(10), pool_name="local") == 1
    assert store.runs.get(here).lease_expires == later(130)
    assert store.runs.get(there.id).lease_expires == later(30)
    assert store.runs.renew_leases("w1", 120, later(10)) == 2


def test_cancel_new_records_when_it_cancelled_and_the_same_claim_goes_on(store: Store, deployment: Deployment) -> None:
    limited, _ = store.deployments.upsert(
        Deployment(
            "etl",
            "limited",
            "flows.py:etl",
            "local",
            concurrency_limit={"limit": 1, "collision_strategy": "CANCEL_NEW"},
        )
    )
    holder = store.runs.create(run_for(limited, at=later(-30)))
    assert store.runs.claim_next("local", None, "w1", 30, NOW) is not None
    over = store.runs.create(run_for(limited, at=later(-20)))
    other = store.runs.create(run_for(deployment, at=later(-10)))
    claimed = store.runs.claim_next("local", None, "w1", 30, NOW)
    assert claimed is not None and claimed.id == other.id
    cancelled = store.runs.get(over.id)
    assert (cancelled.state, cancelled.end_time) == (RunState.CANCELLED, NOW)
    assert cancelled.state_message == "deployment concurrency limit 1 reached (CANCEL_NEW)"
    assert store.runs.get(holder.id).state is RunState.PENDING


def test_a_claimed_run_drops_the_message_of_its_last_recovery(store: Store, deployment: Deployment) -> None:
    run_id = _claimed(store, deployment)
    store.runs.recover_expired(later(60))
    assert "lost its lease" in (store.runs.get(run_id).state_message or "")
    again = store.runs.claim_next("local", None, "w2", 30, later(60))
    assert again is not None and again.id == run_id
    assert store.runs.get(run_id).state_message is None and again.state_message is None


def test_a_run_cancelled_before_it_started_has_no_start_time(store: Store, deployment: Deployment) -> None:
    run_id = _claimed(store, deployment)
    cancelled = store.runs.set_state(run_id, RunState.CANCELLED, "stopped", now=later(5))
    assert (cancelled.start_time, cancelled.end_time, cancelled.lease_expires) == (None, later(5), None)


def test_a_run_given_back_to_the_queue_has_no_worker_and_no_lease(store: Store, deployment: Deployment) -> None:
    run_id = _claimed(store, deployment)
    back = store.runs.set_state(run_id, RunState.SCHEDULED, "given back", now=later(5))
    assert (back.worker_name, back.lease_expires, back.attempt) == (None, None, 1)
    assert store.runs.get(run_id) == back


def test_a_worker_that_lost_a_run_is_told_to_stop_it(store: Store, deployment: Deployment) -> None:
    run_id = _claimed(store, deployment)
    store.runs.recover_expired(later(60))
    store.runs.claim_next("local", None, "w2", 30, later(60))
    with pytest.raises(ConflictError) as caught:
        store.runs.set_state(run_id, RunState.RUNNING, expect_worker="w1")
    name = store.runs.get(run_id).name
    assert (
        caught.value.message
        == f"flow run {name!r} is no longer held by worker 'w1' (it is PENDING at attempt 1, worker w2)"
    )
    assert caught.value.hint == "its lease expired and it was recovered; this worker must stop it"


def test_reading_an_unknown_run_says_how_to_list_runs(store: Store) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.runs.get("nope")
    assert caught.value.message == "flow run 'nope' not found"
    assert caught.value.hint == "list runs: deploytool flow-run ls"


def test_a_full_queue_does_not_stop_the_claim_from_serving_the_next_queue(
    store: Store, pool: WorkPool, deployment: Deployment
) -> None:
    store.queues.create("local", "first", priority=1, concurrency_limit=1)
    store.queues.create("local", "second", priority=2)
    store.runs.create(run_for(deployment, queue_name="first", at=later(-30)))
    assert store.runs.claim_next("local", None, "w1", 30, NOW) is not None  # "first" is now full
    store.runs.create(run_for(deployment, queue_name="first", at=later(-20)))
    waiting = store.runs.create(run_for(deployment, queue_name="second", at=later(-10)))
    claimed = store.runs.claim_next("local", None, "w1", 30, NOW)
    assert claimed is not None and claimed.id == waiting.id
