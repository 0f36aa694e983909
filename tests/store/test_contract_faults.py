"""The store's side of hosts that come and go (issue 13, item 2), once per backend: keyed log lines are stored
once however often they are sent; only the lease holder records a run's states, its final state included; a
worker's heartbeat carries the problem that keeps it from taking runs, and the pool is NOT_READY for it.
docs/reliability.md, "Hosts that come and go".
"""

from __future__ import annotations

import pytest

from deploytool.errors import ConflictError
from deploytool.models import Deployment, LogLine, PoolStatus, RunState, WorkPool
from deploytool.store import Store
from tests.store.helpers import NOW, later, run_for

POOL = "local"


@pytest.fixture
def deployment(any_store: Store) -> Deployment:
    any_store.pools.create(WorkPool(name=POOL, type="process"))
    stored, _ = any_store.deployments.upsert(
        Deployment(flow_name="etl", name="nightly", entrypoint="flows.py:etl", pool_name=POOL)
    )
    return stored


def _line(run_id: str, text: str) -> LogLine:
    return LogLine(run_id, NOW, "INFO", "stdout", text)


def _running(store: Store, deployment: Deployment, worker: str = "w1") -> str:
    run = store.runs.create(run_for(deployment))
    claimed = store.runs.claim_next(POOL, None, worker, 30, NOW)
    assert claimed is not None and claimed.id == run.id
    store.runs.set_state(run.id, RunState.RUNNING, None, now=NOW, expect_worker=worker)
    return run.id


def test_a_batch_of_keyed_lines_sent_twice_is_stored_once_in_order(any_store: Store, deployment: Deployment) -> None:
    run_id = any_store.runs.create(run_for(deployment)).id
    other = any_store.runs.create(run_for(deployment)).id
    first = [_line(run_id, f"line {n}") for n in (1, 2)]
    any_store.logs.append(run_id, first, keys=["job-a:1", "job-a:2"])
    # The answer to the COMMIT was lost: the worker sends the batch again, with the lines that came since.
    again = [*first, _line(run_id, "line 3")]
    last = any_store.logs.append(run_id, again, keys=["job-a:1", "job-a:2", "job-a:3"])
    any_store.logs.append(run_id, [_line(run_id, "from the CLI")])  # unkeyed lines are always added
    any_store.logs.append(run_id, [_line(run_id, "from the CLI")])
    any_store.logs.append(other, [_line(other, "other run")], keys=["job-a:1"])  # keys are per run
    stored = any_store.logs.read(run_id)
    assert [x.message for x in stored] == ["line 1", "line 2", "line 3", "from the CLI", "from the CLI"]
    assert last == stored[2].id
    assert [x.message for x in any_store.logs.read(other)] == ["other run"]
    # A batch whose every line is stored already adds nothing and still answers the run's last id.
    assert any_store.logs.append(run_id, first, keys=["job-a:1", "job-a:2"]) == stored[-1].id


def test_a_worker_whose_lease_was_recovered_cannot_record_the_final_state(
    any_store: Store, deployment: Deployment
) -> None:
    run_id = _running(any_store, deployment)
    recovered = any_store.runs.recover_expired(later(60))  # w1 was cut off longer than its lease
    assert [state for _, state in recovered] == [RunState.CRASHED]
    crashed = any_store.runs.get(run_id)
    with pytest.raises(ConflictError, match="no longer held by worker 'w1'") as err:
        any_store.runs.set_state(run_id, RunState.COMPLETED, "completed", now=later(61), expect_worker="w1")
    assert "it is CRASHED at attempt 1" in str(err.value)
    assert any_store.runs.get(run_id) == crashed  # the outcome recorded meanwhile stays


def test_only_the_holder_of_the_current_attempt_records_its_states(any_store: Store, deployment: Deployment) -> None:
    run_id = _running(any_store, deployment)
    any_store.runs.recover_expired(later(60))
    any_store.runs.retry(run_id, "crash retry 1/1", now=later(60))
    claimed = any_store.runs.claim_next(POOL, None, "w2", 30, later(61))
    assert claimed is not None and (claimed.worker_name, claimed.attempt) == ("w2", 2)
    with pytest.raises(ConflictError, match="worker w2"):  # w1's old job ends: attempt 2 is w2's
        any_store.runs.set_state(run_id, RunState.FAILED, "failed", now=later(62), expect_worker="w1")
    any_store.runs.set_state(run_id, RunState.SCHEDULED, "released", now=later(62), expect_worker="w2")
    again = any_store.runs.claim_next(POOL, None, "w1", 30, later(63))
    assert again is not None and (again.worker_name, again.attempt) == ("w1", 2)
    # w1 now holds attempt 2; the outcome of its old attempt-1 job must not land on it.
    with pytest.raises(ConflictError, match="attempt 2"):
        any_store.runs.set_state(
            run_id, RunState.COMPLETED, "completed", now=later(64), expect_worker="w1", expect_attempt=1
        )
    assert any_store.runs.get(run_id).state is RunState.PENDING
    done = any_store.runs.set_state(run_id, RunState.RUNNING, None, now=later(64), expect_worker="w1", expect_attempt=2)
    assert done.state is RunState.RUNNING


def test_a_final_state_is_recorded_once(any_store: Store, deployment: Deployment) -> None:
    run_id = _running(any_store, deployment)
    done = any_store.runs.set_state(run_id, RunState.COMPLETED, "completed", now=later(5), expect_worker="w1")
    with pytest.raises(ConflictError, match="no longer held"):  # sent again: refused, nothing changes
        any_store.runs.set_state(run_id, RunState.COMPLETED, "completed", now=later(9), expect_worker="w1")
    assert any_store.runs.get(run_id) == done


def test_a_worker_with_a_problem_leaves_its_pool_not_ready_and_says_why(
    any_store: Store, deployment: Deployment
) -> None:
    problem = "the Docker daemon does not answer: Cannot connect to unix:///nowhere.sock"
    any_store.workers.heartbeat("d1", POOL, "host-a", 11, NOW, problem=problem)
    assert any_store.workers.pool_status(POOL, later(1)) is PoolStatus.NOT_READY
    assert [(w.name, w.problem) for w in any_store.workers.list(POOL)] == [("d1", problem)]
    any_store.workers.heartbeat("d1", POOL, "host-a", 11, later(2))  # the daemon answers again
    assert any_store.workers.pool_status(POOL, later(3)) is PoolStatus.READY
    assert [w.problem for w in any_store.workers.list(POOL)] == [None]
    any_store.workers.heartbeat("d2", POOL, "host-b", 12, later(4), problem=problem)
    assert any_store.workers.pool_status(POOL, later(5)) is PoolStatus.READY  # one healthy worker is enough
