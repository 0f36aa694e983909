"""Code run in separate OS processes (multiprocessing, spawn) by the concurrency tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from deploytool.models import Deployment, RunState
from deploytool.store import Store


def _wait_until(start_at: float) -> None:
    # All processes start together, so they really contend for the lock.
    time.sleep(max(0.0, start_at - time.time()))


def claim_all(db_path: str, pool_name: str, worker: str, start_at: float) -> list[str]:
    """Claim runs until none is left; start each one (PENDING -> RUNNING) as a worker would."""
    claimed: list[str] = []
    with Store.open(db_path) as store:
        _wait_until(start_at)
        while True:
            run = store.runs.claim_next(pool_name, None, worker, 60, datetime.now(UTC))
            if run is None:
                return claimed
            store.runs.set_state(run.id, RunState.RUNNING, expect_worker=worker)
            claimed.append(run.id)


def upsert_many(db_path: str, pool_name: str, prefix: str, count: int, start_at: float) -> int:
    """Upsert `count` deployments of its own plus a shared one, each batch in one transaction."""
    created = 0
    with Store.open(db_path) as store:
        _wait_until(start_at)
        for batch in range(0, count, 10):
            with store.transaction():
                for i in range(batch, batch + 10):
                    _, new = store.deployments.upsert(Deployment("flow", f"{prefix}-{i}", "f.py:f", pool_name))
                    created += new
                store.deployments.upsert(Deployment("flow", "shared", "f.py:f", pool_name, version=prefix))
    return created


def open_fresh_and_write(db_path: str, name: str, start_at: float) -> str:
    """Open a store that may not exist yet (racing the others to create and migrate it) and write to it."""
    _wait_until(start_at)
    with Store.open(db_path) as store:
        store.variables.set(name, name)
    return name
