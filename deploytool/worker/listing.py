"""What `deploytool worker ls` shows: each worker's host, pid, last heartbeat, whether it is online, its runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deploytool.models import ACTIVE, utcnow
from deploytool.store import ONLINE_WINDOW_SECONDS, Store


def list_workers(store: Store, pool_name: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Workers (of one pool, or all) with their active runs, most recent heartbeat first.

    NotFoundError (with a hint) for a pool that does not exist.
    """
    now = now or utcnow()
    if pool_name is not None:
        store.pools.get(pool_name)
    runs: dict[tuple[str, str], list[dict[str, str]]] = {}
    for run in store.runs.list(state=ACTIVE, pool_name=pool_name, limit=1_000_000):
        if run.worker_name is not None:
            runs.setdefault((run.pool_name, run.worker_name), []).append(
                {"id": run.id, "name": run.name, "state": run.state.value}
            )
    result = []
    for worker in store.workers.list(pool_name):
        age = (now - worker.last_heartbeat).total_seconds()
        result.append(
            {
                "name": worker.name,
                "pool": worker.pool_name,
                "host": worker.host,
                "pid": worker.pid,
                "last_heartbeat": worker.last_heartbeat.isoformat(),
                "seconds_since_heartbeat": round(max(age, 0.0), 1),
                "online": age <= ONLINE_WINDOW_SECONDS,
                "runs": runs.get((worker.pool_name, worker.name), []),
            }
        )
    return result
