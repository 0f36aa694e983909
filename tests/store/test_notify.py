"""`Store.wait_for_change`: the contract on every backend, and what wakes a waiter on PostgreSQL (LISTEN/NOTIFY).

Waits are asserted on the event (the waiter returned True) with a safety net far above any real latency; a
"nothing happened" wait uses a short timeout and asserts False, which no load can turn into a True.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from deploytool.models import Deployment, LogLine, RunState, utcnow
from deploytool.store import Store, Topic, Wake
from tests.store.backends import StoreFactory
from tests.store.helpers import run_for
from tests.store.notify_helpers import POOL, SAFETY, Waiter, settled, setup_pool


@contextmanager
def _two(factory: StoreFactory) -> Iterator[tuple[Store, Store]]:
    with factory.open() as waiting, factory.open() as other:
        yield waiting, other


class TestWaitForChangeContract:
    def test_the_first_wait_says_look_once_then_nothing_happened_is_a_timeout(
        self, store_factory: StoreFactory
    ) -> None:
        with _two(store_factory) as (store, _):
            topics = (Topic.pool(POOL),)
            assert store.wait_for_change(topics, SAFETY) is True
            assert store.wait_for_change(topics, 0.3) is False

    def test_a_run_queued_by_another_connection_ends_a_long_wait(self, store_factory: StoreFactory) -> None:
        with _two(store_factory) as (store, other):
            deployment = setup_pool(other)
            topics = (Topic.pool(POOL),)
            settled(store, topics)
            waiter = Waiter(store, topics)
            other.runs.create(run_for(deployment, at=utcnow()))
            assert waiter.outcome() is True

    def test_a_change_between_a_look_and_the_next_wait_is_not_missed(self, store_factory: StoreFactory) -> None:
        with _two(store_factory) as (store, other):
            deployment = setup_pool(other)
            topics = (Topic.pool(POOL),)
            settled(store, topics)
            other.runs.create(run_for(deployment, at=utcnow()))  # while the waiter is not waiting
            assert store.wait_for_change(topics, SAFETY) is True

    @pytest.mark.parametrize("make_wake", [threading.Event, Wake], ids=["threading.Event", "Wake"])
    def test_the_wake_event_ends_a_wait_with_false(
        self, store_factory: StoreFactory, make_wake: Callable[[], threading.Event]
    ) -> None:
        with _two(store_factory) as (store, _):
            topics = (Topic.pool(POOL),)
            settled(store, topics)
            wake = make_wake()
            waiter = Waiter(store, topics, timeout=3600.0, wake=wake)
            wake.set()
            assert waiter.outcome() is False

    def test_log_lines_of_a_run_end_a_wait_for_the_run(self, store_factory: StoreFactory) -> None:
        with _two(store_factory) as (store, other):
            run = other.runs.create(run_for(setup_pool(other), at=utcnow()))
            topics = (Topic.run(run.id),)
            settled(store, topics)
            waiter = Waiter(store, topics)
            other.logs.append(run.id, [LogLine(run.id, utcnow(), "INFO", "stdout", "hello")])
            assert waiter.outcome() is True


# --- PostgreSQL: what sends a notification, and what does not -----------------------------------------------


@pytest.fixture
def pg_factory(postgres: object) -> StoreFactory:
    from tests.store.pg_cluster import Cluster

    assert isinstance(postgres, Cluster)
    return StoreFactory("postgresql", postgres.fresh_database())


def _wakes(
    factory: StoreFactory, topic: Callable[[Deployment, str], Topic], change: Callable[[Store, Deployment, str], None]
) -> bool:
    """Whether `change`, made on another connection after the waiter settled, wakes a waiter of `topic`."""
    with _two(factory) as (store, other):
        deployment = setup_pool(other)
        run = other.runs.create(run_for(deployment, at=utcnow()))
        topics = (topic(deployment, run.id),)
        settled(store, topics)
        waiter = Waiter(store, topics, timeout=2.0)
        change(other, deployment, run.id)
        return waiter.outcome() is True


def _pool_topic(deployment: Deployment, run_id: str) -> Topic:
    return Topic.pool(deployment.pool_name)


def _run_topic(deployment: Deployment, run_id: str) -> Topic:
    return Topic.run(run_id)


def _claim(store: Store, deployment: Deployment) -> str:
    claimed = store.runs.claim_next(POOL, None, "w1", 30, store.now())
    assert claimed is not None
    return claimed.id


def _finish(store: Store, deployment: Deployment, run_id: str) -> None:
    _claim(store, deployment)
    store.runs.set_state(run_id, RunState.RUNNING, None, expect_worker="w1")
    store.runs.set_state(run_id, RunState.COMPLETED, None, expect_worker="w1")


class TestPostgresNotifications:
    """Each change a claim depends on wakes the pool's waiters; each state change and log line the run's."""

    @pytest.mark.parametrize(
        "change",
        [
            pytest.param(lambda s, d, r: s.runs.create(run_for(d, at=utcnow())), id="queued"),
            pytest.param(lambda s, d, r: s.runs.insert_many([run_for(d, at=utcnow()) for _ in range(3)]), id="bulk"),
            pytest.param(lambda s, d, r: _finish(s, d, r), id="slot-freed"),
            pytest.param(lambda s, d, r: s.pools.update(POOL, concurrency_limit=5), id="pool-limit"),
            pytest.param(lambda s, d, r: s.queues.update(POOL, "default", paused=False), id="queue-resumed"),
        ],
    )
    def test_a_pool_is_notified(
        self, pg_factory: StoreFactory, change: Callable[[Store, Deployment, str], None]
    ) -> None:
        # The setup's own queued run is claimed first where the change needs a claimed run.
        assert _wakes(pg_factory, _pool_topic, change)

    def test_a_released_run_notifies_its_pool(self, pg_factory: StoreFactory) -> None:
        def release(s: Store, d: Deployment, r: str) -> None:
            s.runs.set_state(r, RunState.SCHEDULED, "released", expect_worker="w1")

        with _two(pg_factory) as (store, other):
            deployment = setup_pool(other)
            run = other.runs.create(run_for(deployment, at=utcnow()))
            _claim(other, deployment)
            topics = (Topic.pool(POOL),)
            settled(store, topics)
            waiter = Waiter(store, topics, timeout=SAFETY)
            release(other, deployment, run.id)
            assert waiter.outcome() is True

    def test_a_retried_run_notifies_its_pool(self, pg_factory: StoreFactory) -> None:
        with _two(pg_factory) as (store, other):
            deployment = setup_pool(other)
            run = other.runs.create(run_for(deployment, at=utcnow()))
            other.runs.set_state(run.id, RunState.CANCELLED, "stop")
            topics = (Topic.pool(POOL),)
            settled(store, topics)
            waiter = Waiter(store, topics)
            other.runs.retry(run.id, "again")
            assert waiter.outcome() is True

    def test_a_resumed_pool_notifies(self, pg_factory: StoreFactory) -> None:
        with _two(pg_factory) as (store, other):
            setup_pool(other)
            other.pools.update(POOL, paused=True)
            topics = (Topic.pool(POOL),)
            settled(store, topics)
            waiter = Waiter(store, topics)
            other.pools.update(POOL, paused=False)
            assert waiter.outcome() is True

    def test_a_state_change_notifies_the_run(self, pg_factory: StoreFactory) -> None:
        assert _wakes(pg_factory, _run_topic, lambda s, d, r: s.runs.set_state(r, RunState.CANCELLED, "no"))

    def test_another_pool_does_not_wake_a_waiter(self, pg_factory: StoreFactory) -> None:
        with _two(pg_factory) as (store, other):
            setup_pool(other)
            elsewhere = setup_pool(other, "elsewhere")
            topics = (Topic.pool(POOL),)
            settled(store, topics)
            waiter = Waiter(store, topics, timeout=1.0)
            other.runs.create(run_for(elsewhere, at=utcnow()))
            assert waiter.outcome() is False

    def test_a_rolled_back_change_wakes_nobody(self, pg_factory: StoreFactory) -> None:
        with _two(pg_factory) as (store, other):
            deployment = setup_pool(other)
            topics = (Topic.pool(POOL),)
            settled(store, topics)
            waiter = Waiter(store, topics, timeout=1.0)
            with pytest.raises(RuntimeError), other.transaction():
                other.runs.create(run_for(deployment, at=utcnow()))
                raise RuntimeError("changed my mind")
            assert waiter.outcome() is False

    def test_a_lease_renewal_is_no_notification(self, pg_factory: StoreFactory) -> None:
        with _two(pg_factory) as (store, other):
            deployment = setup_pool(other)
            run = other.runs.create(run_for(deployment, at=utcnow()))
            _claim(other, deployment)
            topics = (Topic.pool(POOL), Topic.run(run.id))
            settled(store, topics)
            waiter = Waiter(store, topics, timeout=1.0)
            assert other.runs.renew_leases("w1", 60, other.now() + timedelta(seconds=1)) == 1
            assert waiter.outcome() is False


# --- following a run from another host ----------------------------------------------------------------------


def test_a_follower_sees_lines_and_the_end_written_by_another_host_without_polling(
    store_factory: StoreFactory,
) -> None:
    """`flow-run logs --follow` / `--watch` wait for the run's changes: with an hour between polls, lines and the
    final state written on another connection still arrive (the follower ends)."""
    from deploytool.core.watch import follow_logs

    with _two(store_factory) as (store, other):
        run = other.runs.create(run_for(setup_pool(other), at=utcnow()))
        seen: list[str] = []
        done = threading.Event()

        def follow() -> None:
            for line in follow_logs(store, run.id, follow=True, poll_seconds=3600):
                seen.append(line.message)
            done.set()

        threading.Thread(target=follow, daemon=True).start()
        claimed = other.runs.claim_next(POOL, None, "w1", 30, other.now())
        assert claimed is not None and claimed.id == run.id
        other.runs.set_state(run.id, RunState.RUNNING, None, expect_worker="w1")
        other.logs.append(run.id, [LogLine(run.id, utcnow(), "INFO", "stdout", "first")])
        other.logs.append(run.id, [LogLine(run.id, utcnow(), "INFO", "stdout", "second")])
        other.runs.set_state(run.id, RunState.COMPLETED, None, expect_worker="w1")
        assert done.wait(SAFETY), f"the follower is still waiting after {seen}"
        assert seen == ["first", "second"]
