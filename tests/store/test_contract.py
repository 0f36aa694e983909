"""The store's contract: every public operation, once per backend (tests/store/backends.py lists them).

One class, parametrised by backend through the `store_factory` fixture, in the manner of huey's storage tests: a
backend is correct when this whole class passes against it. Times are driven (`NOW`, `later`): no test waits.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from deploytool.errors import ConflictError, NotFoundError
from deploytool.models import (
    ACTIVE,
    DEFAULT_QUEUE,
    Block,
    Deployment,
    FlowRun,
    LogLine,
    PoolStatus,
    RunCounts,
    RunState,
    TaskRun,
    WorkPool,
    new_id,
)
from deploytool.store import AUTO_PREFIX, Store
from tests.store.backends import StoreFactory
from tests.store.helpers import NOW, later, run_for

POOL = "local"


def _pool(store: Store, name: str = POOL, **fields: object) -> WorkPool:
    return store.pools.create(WorkPool(name=name, type="process", **fields))  # type: ignore[arg-type]


def _deployment(store: Store, name: str = "nightly", **fields: object) -> Deployment:
    values: dict[str, object] = {"flow_name": "etl", "name": name, "entrypoint": "flows.py:etl", "pool_name": POOL}
    values.update(fields)
    return store.deployments.upsert(Deployment(**values))[0]  # type: ignore[arg-type]


def _claim(store: Store, worker: str = "w1", at: datetime = NOW, queues: list[str] | None = None) -> FlowRun | None:
    return store.runs.claim_next(POOL, queues, worker, 30, at)


def _waits_for_a_lock(factory: StoreFactory) -> bool:
    """Whether a session of this PostgreSQL store waits for a lock. SQLite's writers wait inside SQLite, unseen,
    and before they read anything: True at once."""
    if factory.backend != "postgresql":
        return True
    import psycopg

    with psycopg.connect(factory.url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE NOT l.granted AND a.datname = current_database()"
        ).fetchone()
    return row is not None and row[0] > 0


class TestStoreContract:
    # --- the store itself -------------------------------------------------------------------------------

    def test_a_new_store_is_empty_at_the_latest_schema(self, any_store: Store) -> None:
        assert any_store.pools.list() == []
        assert any_store.schema_version() >= 3
        counts = any_store.table_counts()
        assert {"work_pools", "flow_runs", "logs", "deployments"} <= counts.keys()
        assert set(counts.values()) == {0}

    def test_opening_again_keeps_everything_and_migrates_nothing(self, store_factory: StoreFactory) -> None:
        with store_factory.open() as first:
            _pool(first)
            version = first.schema_version()
        with store_factory.open() as again:
            assert [p.name for p in again.pools.list()] == [POOL]
            assert again.schema_version() == version
            assert again.backend == store_factory.backend

    def test_now_is_an_aware_utc_time_close_to_this_machines(self, any_store: Store) -> None:
        now = any_store.now()
        assert now.utcoffset() == timedelta(0)
        assert abs((now - datetime.now(UTC)).total_seconds()) < 300

    def test_a_transaction_applies_all_or_nothing_and_nests(self, any_store: Store) -> None:
        _pool(any_store)
        with pytest.raises(RuntimeError), any_store.transaction():
            any_store.variables.set("a", 1)
            _deployment(any_store)
            raise RuntimeError("boom")
        assert any_store.variables.list() == []
        assert any_store.deployments.list() == []
        with any_store.transaction():
            any_store.variables.set("outer", 1)
            with pytest.raises(ConflictError), any_store.transaction():
                any_store.variables.set("inner", 2)
                any_store.pools.create(WorkPool(POOL, "process"))  # taken: the inner block rolls back
        assert [v.name for v in any_store.variables.list()] == ["outer"]

    def test_naive_times_are_refused(self, any_store: Store) -> None:
        _pool(any_store)
        with pytest.raises(ValueError, match="naive"):
            any_store.workers.heartbeat("w", POOL, "h", 1, datetime(2025, 1, 1))

    # --- pools and queues ---------------------------------------------------------------------------------

    def test_pools_create_get_list_update_delete(self, any_store: Store) -> None:
        made = _pool(any_store, base_job_template={"a": 1}, description="d")
        assert any_store.pools.get(POOL) == made
        _pool(any_store, "another")
        assert [p.name for p in any_store.pools.list()] == ["another", POOL]
        with pytest.raises(ConflictError, match="already exists"):
            _pool(any_store)
        any_store.queues.create(POOL, "extra")
        replaced = any_store.pools.create(WorkPool(POOL, "docker"), overwrite=True)
        assert (replaced.type, replaced.created) == ("docker", made.created)
        assert {q.name for q in any_store.queues.list(POOL)} == {DEFAULT_QUEUE, "extra"}
        updated = any_store.pools.update(POOL, concurrency_limit=3, paused=True)
        assert (updated.concurrency_limit, updated.paused, updated.description) == (3, True, None)
        assert any_store.pools.update(POOL, concurrency_limit=None).concurrency_limit is None
        any_store.pools.delete("another")
        with pytest.raises(NotFoundError, match="work-pool create"):
            any_store.pools.get("another")

    def test_deleting_a_pool_in_use_needs_force(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store)
        waiting = any_store.runs.create(run_for(d))
        running = any_store.runs.create(run_for(d))
        done = any_store.runs.create(run_for(d))
        any_store.runs.set_state(done.id, RunState.CANCELLED)
        any_store.runs.set_state(running.id, RunState.PENDING, worker_name="w")
        with pytest.raises(ConflictError, match="active run"):
            any_store.pools.delete(POOL)
        any_store.pools.delete(POOL, force=True)
        assert any_store.runs.get(running.id).state is RunState.CANCELLING
        assert any_store.runs.get(done.id).state is RunState.CANCELLED
        with pytest.raises(NotFoundError):
            any_store.runs.get(waiting.id)
        assert any_store.deployments.list() == []
        assert any_store.queues.list() == []

    def test_queues_create_get_list_update_delete(self, any_store: Store) -> None:
        _pool(any_store)
        low = any_store.queues.create(POOL, "low")
        high = any_store.queues.create(POOL, "high", priority=0, concurrency_limit=2)
        assert low.priority == 2 and any_store.queues.get(POOL, "high") == high
        assert [q.name for q in any_store.queues.list(POOL)] == ["high", DEFAULT_QUEUE, "low"]
        with pytest.raises(ConflictError):
            any_store.queues.create(POOL, "low")
        with pytest.raises(NotFoundError, match="its queues: high, default, low"):
            any_store.queues.get(POOL, "nope")
        with pytest.raises(NotFoundError, match="work pool"):
            any_store.queues.create("ghost", "q")
        paused = any_store.queues.update(POOL, "low", paused=True, priority=9)
        assert (paused.paused, paused.priority, paused.concurrency_limit) == (True, 9, None)
        with pytest.raises(ConflictError, match="cannot be deleted"):
            any_store.queues.delete(POOL, DEFAULT_QUEUE)
        _deployment(any_store, queue_name="low")
        with pytest.raises(ConflictError, match="in use"):
            any_store.queues.delete(POOL, "low")
        any_store.queues.delete(POOL, "high")
        assert [q.name for q in any_store.queues.list()] == [DEFAULT_QUEUE, "low"]

    # --- deployments -------------------------------------------------------------------------------------

    def test_deployments_upsert_by_flow_and_name(self, any_store: Store) -> None:
        _pool(any_store)
        first, created = any_store.deployments.upsert(
            Deployment("my_flow", "d", "f.py:f", POOL, parameters={"x": [1, "ü"]}, source_file="/p/prefect.yaml")
        )
        assert created
        again, created = any_store.deployments.upsert(
            Deployment("my-flow", "d", "g.py:g", POOL, queue_name="new", version="2")
        )
        assert not created and (again.id, again.created) == (first.id, first.created)
        assert any_store.deployments.get(first.id) == again
        assert any_store.deployments.get_by_name("my_flow", "d").entrypoint == "g.py:g"
        assert any_store.queues.get(POOL, "new").name == "new"  # created on the way
        with pytest.raises(NotFoundError, match="deployments of flow 'my-flow': d"):
            any_store.deployments.get_by_name("my-flow", "other")
        with pytest.raises(NotFoundError, match="work pool"):
            any_store.deployments.upsert(Deployment("f", "d", "f.py:f", "ghost"))

    def test_deployments_list_pause_and_delete(self, any_store: Store) -> None:
        _pool(any_store)
        _pool(any_store, "other")
        a = _deployment(any_store, "a", source_file="/p/prefect.yaml", concurrency_limit={"limit": 2})
        b = _deployment(any_store, "b", pool_name="other")
        assert [d.name for d in any_store.deployments.list()] == ["a", "b"]
        assert [d.name for d in any_store.deployments.list("other")] == ["b"]
        assert any_store.deployments.list_by_source("/p/prefect.yaml") == [a]
        assert any_store.deployments.set_paused(a.id, True).paused
        assert not any_store.deployments.set_paused(a.id, False).paused
        waiting = any_store.runs.create(run_for(b))
        kept = any_store.runs.create(run_for(b))
        any_store.runs.set_state(kept.id, RunState.CANCELLED)
        assert any_store.deployments.delete(b.id) == 1
        assert any_store.runs.get(kept.id).deployment_id is None
        with pytest.raises(NotFoundError):
            any_store.runs.get(waiting.id)
        with pytest.raises(NotFoundError, match="deployment ls"):
            any_store.deployments.get(b.id)

    # --- runs: creating, reading, changing ---------------------------------------------------------------

    def test_runs_create_get_find_and_idempotency(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store)
        run = any_store.runs.create(run_for(d, parameters={"n": 1, "s": "Ü\\\"'"}, idempotency_key="k1"))
        assert run.name == f"nightly-{run.id[:8]}"
        assert any_store.runs.get(run.id) == run
        assert any_store.runs.create(run_for(d, idempotency_key="k1")).id == run.id
        assert [r.id for r in any_store.runs.find(run.id[:6])] == [run.id]
        assert [r.id for r in any_store.runs.find(run.name)] == [run.id]
        with pytest.raises(NotFoundError, match="flow-run ls"):
            any_store.runs.get("missing")
        with pytest.raises(ValueError, match="SCHEDULED"):
            any_store.runs.create(run_for(d, state=RunState.RUNNING))
        with pytest.raises(NotFoundError, match="work pool"):
            any_store.runs.create(run_for(d, pool_name="ghost"))

    def test_concurrent_creators_of_one_key_store_one_run(self, store_factory: StoreFactory) -> None:
        with store_factory.open() as store:
            _pool(store)
            d = _deployment(store)
        ids: list[str] = []

        def create() -> None:
            with store_factory.open() as own:
                ids.append(own.runs.create(run_for(d, idempotency_key="same")).id)

        threads = [threading.Thread(target=create) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(ids)) == 1 and len(ids) == 6
        with store_factory.open() as store:
            assert len(store.runs.list()) == 1

    def test_a_creator_that_loses_the_insert_race_returns_the_winners_run(self, store_factory: StoreFactory) -> None:
        # The first creator's run is written but not yet committed when the second looks the key up: it finds
        # nothing, its insert then waits for the first and does nothing (PostgreSQL; SQLite's write lock makes
        # it wait before it looks). It returns the first's run, stored once.
        with store_factory.open() as store:
            _pool(store)
            d = _deployment(store)
        got: list[FlowRun] = []

        def second_creator() -> None:
            with store_factory.open() as own:
                got.append(own.runs.create(run_for(d, idempotency_key="same")))

        with store_factory.open() as holder:
            with holder.transaction():
                first = holder.runs.create(run_for(d, idempotency_key="same"))
                thread = threading.Thread(target=second_creator)
                thread.start()
                while thread.is_alive() and not _waits_for_a_lock(store_factory):
                    thread.join(0.01)
            thread.join()
        assert [r.id for r in got] == [first.id]
        with store_factory.open() as store:
            assert [r.id for r in store.runs.list()] == [first.id]

    def test_runs_list_newest_first_filtered_and_counted(self, any_store: Store) -> None:
        _pool(any_store)
        _pool(any_store, "other")
        d = _deployment(any_store)
        e = _deployment(any_store, "e", pool_name="other")
        same_time = [FlowRun("etl", "nightly", POOL, d.id, name=f"r{i}", created=NOW) for i in range(3)]
        assert any_store.runs.insert_many(same_time) == 3
        newest = any_store.runs.create(run_for(e))
        assert [r.name for r in any_store.runs.list(limit=3)] == [newest.name, "r2", "r1"]
        assert [r.name for r in any_store.runs.list(deployment_id=d.id)] == ["r2", "r1", "r0"]
        any_store.runs.set_state(same_time[0].id, RunState.PENDING, worker_name="w")
        assert [r.name for r in any_store.runs.list(state=ACTIVE)] == ["r0"]
        assert len(any_store.runs.list(state=RunState.SCHEDULED, pool_name=POOL)) == 2
        assert any_store.runs.counts() == {POOL: RunCounts(queued=2, running=1), "other": RunCounts(queued=1)}

    def test_state_changes_keep_the_books(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store)
        run = any_store.runs.create(run_for(d))
        claimed = _claim(any_store, at=later(1))
        assert claimed is not None and (claimed.state, claimed.worker_name) == (RunState.PENDING, "w1")
        assert claimed.lease_expires == later(31)
        running = any_store.runs.set_state(run.id, RunState.RUNNING, now=later(2), infrastructure_id="pid:7")
        assert (running.start_time, running.infrastructure_id) == (later(2), "pid:7")
        with pytest.raises(ConflictError, match="no longer held by worker 'w2'"):
            any_store.runs.set_state(run.id, RunState.COMPLETED, expect_worker="w2")
        done = any_store.runs.set_state(run.id, RunState.COMPLETED, "ok", now=later(5), exit_code=0)
        assert (done.end_time, done.lease_expires, done.exit_code, done.state_message) == (later(5), None, 0, "ok")
        with pytest.raises(ConflictError, match="is COMPLETED and cannot become RUNNING"):
            any_store.runs.set_state(run.id, RunState.RUNNING)
        with pytest.raises(TypeError, match="cannot set"):
            any_store.runs.set_state(run.id, RunState.SCHEDULED, attempt=5)
        again = any_store.runs.retry(run.id, "again", now=later(9), expect_attempt=1)
        assert (again.state, again.attempt, again.start_time, again.exit_code, again.worker_name) == (
            RunState.SCHEDULED,
            2,
            None,
            None,
            None,
        )
        with pytest.raises(ConflictError, match="only a finished run can be retried"):
            any_store.runs.retry(run.id, "twice")
        any_store.runs.set_state(run.id, RunState.CANCELLED)
        with pytest.raises(ConflictError, match="already retried"):
            any_store.runs.retry(run.id, "stale", expect_attempt=1)

    # --- claiming ----------------------------------------------------------------------------------------

    def test_claim_takes_the_best_due_run(self, any_store: Store) -> None:
        _pool(any_store)
        any_store.queues.create(POOL, "urgent", priority=0)
        d = _deployment(any_store)
        late = any_store.runs.create(run_for(d, at=NOW - timedelta(minutes=5)))
        urgent = any_store.runs.create(run_for(d, queue_name="urgent"))
        future = any_store.runs.create(run_for(d, at=later(60)))
        assert _claim(any_store, queues=[DEFAULT_QUEUE]) == any_store.runs.get(late.id)
        assert [_claim(any_store).id, _claim(any_store)] == [urgent.id, None]  # type: ignore[union-attr]
        assert _claim(any_store, at=later(60)).id == future.id  # type: ignore[union-attr]
        with pytest.raises(NotFoundError, match="work pool"):
            any_store.runs.claim_next("ghost", None, "w", 30, NOW)

    def test_paused_pools_and_queues_are_not_served(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store)
        any_store.runs.create(run_for(d))
        any_store.pools.update(POOL, paused=True)
        assert _claim(any_store) is None
        any_store.pools.update(POOL, paused=False)
        any_store.queues.update(POOL, DEFAULT_QUEUE, paused=True)
        assert _claim(any_store) is None
        any_store.queues.update(POOL, DEFAULT_QUEUE, paused=False)
        assert _claim(any_store) is not None

    @pytest.mark.parametrize("limit_on", ["pool", "queue", "deployment"])
    def test_a_concurrency_limit_holds_a_slot_until_the_run_finishes(self, any_store: Store, limit_on: str) -> None:
        _pool(any_store, concurrency_limit=2 if limit_on == "pool" else None)
        if limit_on == "queue":
            any_store.queues.update(POOL, DEFAULT_QUEUE, concurrency_limit=2)
        d = _deployment(any_store, concurrency_limit={"limit": 2} if limit_on == "deployment" else None)
        for _ in range(4):
            any_store.runs.create(run_for(d))
        first, second = _claim(any_store), _claim(any_store)
        assert first is not None and second is not None and _claim(any_store) is None
        any_store.runs.set_state(first.id, RunState.RUNNING)
        any_store.runs.set_state(first.id, RunState.CANCELLING)
        assert _claim(any_store) is None  # CANCELLING still holds its slot
        any_store.runs.set_state(first.id, RunState.CANCELLED)
        assert _claim(any_store) is not None and _claim(any_store) is None

    def test_a_full_deployment_does_not_hold_up_others(self, any_store: Store) -> None:
        _pool(any_store)
        full = _deployment(any_store, "full", concurrency_limit={"limit": 1, "collision_strategy": "ENQUEUE"})
        free = _deployment(any_store, "free")
        any_store.runs.create(run_for(full, at=NOW - timedelta(seconds=2)))
        waiting = any_store.runs.create(run_for(full, at=NOW - timedelta(seconds=1)))
        other = any_store.runs.create(run_for(free))
        assert _claim(any_store).deployment_id == full.id  # type: ignore[union-attr]
        assert _claim(any_store).id == other.id  # type: ignore[union-attr]
        assert _claim(any_store) is None
        assert any_store.runs.get(waiting.id).state is RunState.SCHEDULED

    def test_claimers_of_two_pools_keep_a_deployments_limit(self, store_factory: StoreFactory) -> None:
        # A deployment moved pools: one run waits in each. A claimer of the new pool claims its run, not yet
        # committed; a claimer of the old pool counted the deployment's active runs before that commit. It
        # must count again once the first is done (PostgreSQL: under the deployment's row lock; SQLite: the
        # write lock makes it wait before it counts) and take nothing: the limit is 1.
        with store_factory.open() as store:
            _pool(store)
            _pool(store, "old")
            d = _deployment(store, concurrency_limit={"limit": 1, "collision_strategy": "ENQUEUE"})
            first = store.runs.create(run_for(d))
            left = store.runs.create(run_for(d, pool_name="old"))
        got: list[FlowRun | None] = []

        def old_pool_claimer() -> None:
            with store_factory.open() as own:
                got.append(own.runs.claim_next("old", None, "w2", 30, NOW))

        with store_factory.open() as holder:
            with holder.transaction():
                assert _claim(holder, "w1").id == first.id  # type: ignore[union-attr]
                thread = threading.Thread(target=old_pool_claimer)
                thread.start()
                while thread.is_alive() and not _waits_for_a_lock(store_factory):
                    thread.join(0.01)
            thread.join()
        assert got == [None]
        with store_factory.open() as store:
            assert store.runs.get(left.id).state is RunState.SCHEDULED

    def test_cancel_new_cancels_what_would_exceed_the_limit(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store, concurrency_limit={"limit": 1, "collision_strategy": "CANCEL_NEW"})
        taken = any_store.runs.create(run_for(d, at=NOW - timedelta(seconds=1)))
        extra = any_store.runs.create(run_for(d))
        assert _claim(any_store).id == taken.id  # type: ignore[union-attr]
        assert _claim(any_store) is None
        cancelled = any_store.runs.get(extra.id)
        assert cancelled.state is RunState.CANCELLED and "CANCEL_NEW" in (cancelled.state_message or "")

    @pytest.mark.parametrize("limit", [None, 3])
    def test_concurrent_claimers_never_share_a_run_and_keep_the_limit(
        self, store_factory: StoreFactory, limit: int | None
    ) -> None:
        with store_factory.open() as store:
            _pool(store, concurrency_limit=limit)
            d = _deployment(store)
            store.runs.insert_many([run_for(d, name=f"r{i}") for i in range(40)])
        claimed: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(4)

        def claimer(worker: str) -> None:
            try:
                with store_factory.open() as own:
                    barrier.wait()
                    while (run := own.runs.claim_next(POOL, None, worker, 30, NOW)) is not None:
                        claimed.append(run.id)
                        if limit is not None:  # finish it, freeing the slot
                            own.runs.set_state(run.id, RunState.RUNNING, expect_worker=worker)
                            own.runs.set_state(run.id, RunState.COMPLETED, expect_worker=worker)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(claimed) == 40 and len(set(claimed)) == 40

    def test_concurrent_claimers_stop_at_the_limit(self, store_factory: StoreFactory) -> None:
        with store_factory.open() as store:
            _pool(store, concurrency_limit=3)
            d = _deployment(store)
            store.runs.insert_many([run_for(d, name=f"r{i}") for i in range(20)])
        barrier = threading.Barrier(6)
        got: list[str] = []

        def claimer(worker: str) -> None:
            with store_factory.open() as own:
                barrier.wait()
                for _ in range(3):
                    run = own.runs.claim_next(POOL, None, worker, 30, NOW)
                    if run is not None:
                        got.append(run.id)

        threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(got) == 3
        with store_factory.open() as store:
            assert store.runs.counts()[POOL] == RunCounts(queued=17, running=3)

    # --- leases ------------------------------------------------------------------------------------------

    def test_leases_are_renewed_and_expired_ones_recovered(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store, crash_retries={"max": 1})
        pending = any_store.runs.create(run_for(d, at=NOW - timedelta(seconds=2)))
        running = any_store.runs.create(run_for(d, at=NOW - timedelta(seconds=1)))
        mine = any_store.runs.create(run_for(d))
        for _ in (pending, running):
            assert _claim(any_store, "dead") is not None
        any_store.runs.set_state(running.id, RunState.RUNNING)
        assert _claim(any_store, "alive").id == mine.id  # type: ignore[union-attr]
        assert any_store.runs.renew_leases("alive", 30, later(100)) == 1
        assert any_store.runs.renew_leases("alive", 30, later(100), pool_name="other") == 0
        assert any_store.runs.recover_expired(later(10)) == []
        hook_calls: list[tuple[str, RunState]] = []

        def hook(run: FlowRun, previous: RunState) -> tuple[datetime, str] | None:
            hook_calls.append((run.id, previous))
            return later(200), "retrying after a crash"

        recovered = any_store.runs.recover_expired(later(40), on_crash=hook)
        assert [(r.id, state) for r, state in recovered] == [
            (pending.id, RunState.SCHEDULED),
            (running.id, RunState.SCHEDULED),
        ]
        assert hook_calls == [(running.id, RunState.RUNNING)]
        retried = any_store.runs.get(running.id)
        assert (retried.attempt, retried.scheduled_time, retried.state_message) == (
            2,
            later(200),
            "retrying after a crash",
        )
        requeued = any_store.runs.get(pending.id)
        assert (requeued.worker_name, requeued.attempt, "lost its lease" in (requeued.state_message or "")) == (
            None,
            1,
            True,
        )
        assert any_store.runs.get(mine.id).state is RunState.PENDING
        crashed = any_store.runs.recover_expired(later(200))
        assert [(r.id, s) for r, s in crashed] == [(mine.id, RunState.SCHEDULED)]

    def test_a_running_run_without_a_hook_crashes(self, any_store: Store) -> None:
        _pool(any_store)
        run = any_store.runs.create(run_for(_deployment(any_store)))
        _claim(any_store, "dead")
        any_store.runs.set_state(run.id, RunState.RUNNING)
        [(crashed, state)] = any_store.runs.recover_expired(later(31))
        assert state is RunState.CRASHED and crashed.end_time == later(31)
        assert "'dead' stopped renewing its lease" in (crashed.state_message or "")

    # --- logs --------------------------------------------------------------------------------------------

    def test_logs_are_appended_in_batches_and_followed(self, any_store: Store) -> None:
        _pool(any_store)
        run = any_store.runs.create(run_for(_deployment(any_store)))
        assert any_store.logs.append(run.id, []) == 0
        lines = [LogLine("ignored", later(i), "INFO", "stdout", f"line {i} ü\t") for i in range(10_000)]
        last = any_store.logs.append(run.id, lines)
        first_page = any_store.logs.read(run.id, limit=3)
        assert [line.message for line in first_page] == ["line 0 ü\t", "line 1 ü\t", "line 2 ü\t"]
        assert first_page[0].run_id == run.id and first_page[0].time == NOW
        rest = any_store.logs.read(run.id, after_id=first_page[-1].id, limit=20_000)
        assert len(rest) == 9_997 and rest[-1].id == last
        more = any_store.logs.append(run.id, [LogLine(run.id, NOW, "ERROR", "stderr", "tail")])
        assert more > last
        assert [line.message for line in any_store.logs.read(run.id, after_id=last)] == ["tail"]

    def test_a_log_line_with_a_nul_character_is_kept(self, any_store: Store) -> None:
        _pool(any_store)
        run = any_store.runs.create(run_for(_deployment(any_store)))
        any_store.logs.append(run.id, [LogLine(run.id, NOW, "INFO", "stdout", "before\x00after")])
        [line] = any_store.logs.read(run.id)
        assert line.message.startswith("before") and line.message.endswith("after")

    # --- workers -----------------------------------------------------------------------------------------

    def test_workers_heartbeat_list_status_and_forget(self, any_store: Store) -> None:
        _pool(any_store)
        _pool(any_store, "other")
        assert any_store.workers.pool_status(POOL, NOW) is PoolStatus.NOT_READY
        any_store.workers.heartbeat("a", POOL, "host1", 10, NOW)
        any_store.workers.heartbeat("b", POOL, "host2", 11, later(5))
        beat = any_store.workers.heartbeat("a", "other", "host1", 12, later(1))
        assert [w.name for w in any_store.workers.list(POOL)] == ["b", "a"]
        assert beat in any_store.workers.list()
        # READY while one heartbeat is within a lease (15 s: worker ls's `online`), not Prefect's 90 s
        assert any_store.workers.pool_status(POOL, later(20)) is PoolStatus.READY
        assert any_store.workers.pool_status(POOL, later(21)) is PoolStatus.NOT_READY
        assert any_store.workers.pool_status(POOL, later(500)) is PoolStatus.NOT_READY
        any_store.pools.update(POOL, paused=True)
        assert any_store.workers.pool_status(POOL, later(6)) is PoolStatus.PAUSED
        with pytest.raises(NotFoundError, match="work pool"):
            any_store.workers.pool_status("ghost", NOW)
        assert any_store.workers.delete_stale(later(3)) == 2
        any_store.workers.delete(POOL, "b")
        with pytest.raises(NotFoundError, match="worker ls"):
            any_store.workers.delete(POOL, "b")

    def test_a_worker_that_beats_with_a_longer_lease_keeps_its_pool_ready_for_that_lease(
        self, any_store: Store
    ) -> None:
        _pool(any_store)
        beat = any_store.workers.heartbeat("slow", POOL, "host1", 10, NOW, lease_seconds=60.0)  # beats every 20 s
        assert any_store.workers.list(POOL) == [beat] and beat.lease_seconds == 60.0
        assert any_store.workers.pool_status(POOL, later(60)) is PoolStatus.READY
        assert any_store.workers.pool_status(POOL, later(61)) is PoolStatus.NOT_READY
        any_store.workers.heartbeat("slow", POOL, "host1", 10, later(100), lease_seconds=120.0)
        assert any_store.workers.pool_status(POOL, later(219)) is PoolStatus.READY  # past 90 s, within its lease
        assert any_store.workers.pool_status(POOL, later(221)) is PoolStatus.NOT_READY

    # --- variables and blocks ----------------------------------------------------------------------------

    def test_variables(self, any_store: Store) -> None:
        any_store.variables.set("n", {"a": [1, 2.5, None, "Ü"]})
        any_store.variables.set("n", 7)
        any_store.variables.set("m", "text")
        assert any_store.variables.get("n").value == 7
        assert [(v.name, v.value) for v in any_store.variables.list()] == [("m", "text"), ("n", 7)]
        any_store.variables.delete("m")
        with pytest.raises(NotFoundError, match="variable set"):
            any_store.variables.get("m")
        with pytest.raises(NotFoundError):
            any_store.variables.delete("m")

    def test_blocks(self, any_store: Store) -> None:
        block = any_store.blocks.set(Block("secret", "prod", {"value": "s3cr3t"}, ["value"]))
        any_store.blocks.set(Block("json", "cfg", {"a": 1}))
        assert any_store.blocks.get("secret", "prod") == block
        assert [b.name for b in any_store.blocks.list()] == ["cfg", "prod"]
        assert [b.name for b in any_store.blocks.list("secret")] == ["prod"]
        any_store.blocks.delete("secret", "prod")
        with pytest.raises(NotFoundError, match="block ls"):
            any_store.blocks.get("secret", "prod")
        with pytest.raises(NotFoundError):
            any_store.blocks.delete("secret", "prod")

    # --- schedules ---------------------------------------------------------------------------------------

    def test_schedule_marks_never_move_back(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store)
        any_store.schedules.set_mark(d.id, "s1", later(60))
        any_store.schedules.set_mark(d.id, "s1", later(30))
        any_store.schedules.set_mark(d.id, "s2", later(10))
        assert any_store.schedules.marks(d.id) == {"s1": later(60), "s2": later(10)}
        assert any_store.schedules.clear_marks(d.id, keep={"s2"}) == 1
        assert any_store.schedules.marks(d.id) == {"s2": later(10)}

    def test_auto_scheduled_runs_are_inserted_once_and_pruned_while_waiting(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store)
        keys = [f"{AUTO_PREFIX}{d.id}:s1:{later(i * 60).isoformat()}" for i in range(3)]
        made = [any_store.runs.create(run_for(d, at=later(i * 60), idempotency_key=k)) for i, k in enumerate(keys)]
        again = [any_store.runs.create(run_for(d, at=later(i * 60), idempotency_key=k)) for i, k in enumerate(keys)]
        assert [r.id for r in again] == [r.id for r in made]
        manual = any_store.runs.create(run_for(d, idempotency_key="manual_%"))
        assert any_store.schedules.existing_keys([*keys, "nope", "manual_%"]) == {*keys, "manual_%"}
        assert [r.id for r in any_store.schedules.waiting_runs(d.id)] == [r.id for r in made]
        assert _claim(any_store, at=later(1)).id == made[0].id  # type: ignore[union-attr]
        assert any_store.schedules.delete_waiting([r.id for r in made]) == 2
        assert [r.id for r in any_store.runs.list()] == [manual.id, made[0].id]

    # --- volume ------------------------------------------------------------------------------------------

    def test_insert_many_stores_runs_in_any_state(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store)
        runs = [
            run_for(d, id=new_id(), state=state, queue_name="bulk", end_time=NOW if state is RunState.FAILED else None)
            for state in (RunState.SCHEDULED, RunState.FAILED, RunState.COMPLETED)
            for _ in range(5)
        ]
        assert any_store.runs.insert_many(runs, batch=4) == 15
        assert Counter(r.state for r in any_store.runs.list(limit=100)) == {
            RunState.SCHEDULED: 5,
            RunState.FAILED: 5,
            RunState.COMPLETED: 5,
        }
        assert any_store.queues.get(POOL, "bulk").name == "bulk"

    # --- the dashboard's reads -----------------------------------------------------------------------------

    def test_dashboard_reads(self, any_store: Store) -> None:
        _pool(any_store)
        d = _deployment(any_store)
        for i in range(3):
            any_store.runs.insert_many([run_for(d, id=new_id(), name=f"f{i}", state=RunState.FAILED, created=later(i))])
        late = any_store.runs.create(run_for(d, at=NOW - timedelta(hours=1)))
        claimed = _claim(any_store, "w1", at=NOW)
        assert claimed is not None and claimed.id == late.id
        any_store.runs.create(run_for(d, at=NOW - timedelta(minutes=5)))
        hours = any_store.dashboard.counts_per_hour(NOW - timedelta(hours=2))
        assert sum(h.count for h in hours if h.state is RunState.FAILED) == 3
        assert len(any_store.dashboard.late_runs(NOW, 10)) == 1
        [failing] = any_store.dashboard.failing_deployments(NOW - timedelta(hours=1), 5)
        assert (failing.failed, failing.deployment_id) == (3, d.id)
        assert any_store.dashboard.runs_held(POOL) == {"w1": 1}
        assert [r.name for r in any_store.dashboard.runs(states=[RunState.FAILED], limit=2)] == ["f2", "f1"]

    # --- task runs -----------------------------------------------------------------------------------------

    def test_task_runs_are_recorded_and_updated(self, any_store: Store) -> None:
        _pool(any_store)
        run = any_store.runs.create(run_for(_deployment(any_store)))
        started = TaskRun("t1", run.id, "add-0", "add", "RUNNING", NOW, tags=("a",))
        other = TaskRun("t2", run.id, "add-1", "add", "RUNNING", later(1))
        any_store.task_runs.record([other, started])
        any_store.task_runs.record([])
        done = replace(started, state="COMPLETED", end_time=later(2), duration_seconds=2.0, attempts=2)
        any_store.task_runs.record([done])
        assert any_store.task_runs.list(run.id) == [done, other]
        assert any_store.task_runs.list("nope") == []
