"""Waiting for store changes in tests: a waiter in a thread, and a pool with a deployment to queue runs of."""

from __future__ import annotations

import threading

from deploytool.models import Deployment, WorkPool
from deploytool.store import Store, Topic

POOL = "local"
SAFETY = 60.0  # seconds: only a hung test waits this long


def setup_pool(store: Store, pool: str = POOL) -> Deployment:
    store.pools.create(WorkPool(name=pool, type="process"))
    values = {"flow_name": "etl", "name": f"d-{pool}", "entrypoint": "flows.py:etl", "pool_name": pool}
    return store.deployments.upsert(Deployment(**values))[0]  # type: ignore[arg-type]


class Waiter:
    """`wait_for_change` in a thread: `returned` is set when it returns, `result` is what it returned."""

    def __init__(
        self, store: Store, topics: tuple[Topic, ...], timeout: float = SAFETY, wake: threading.Event | None = None
    ):
        self.result: bool | None = None
        self.returned = threading.Event()

        def wait() -> None:
            self.result = store.wait_for_change(topics, timeout, wake=wake)
            self.returned.set()

        self.thread = threading.Thread(target=wait, daemon=True)
        self.thread.start()

    def outcome(self) -> bool | None:
        self.returned.wait(SAFETY)
        return self.result


def settled(store: Store, topics: tuple[Topic, ...]) -> None:
    """The first wait says "look once"; after it nothing is pending."""
    assert store.wait_for_change(topics, SAFETY) is True
