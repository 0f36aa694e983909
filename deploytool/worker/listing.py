"""What `deploytool worker ls` shows: each worker's host, pid, when it was last seen, its status and its runs.

Status: `online` while its heartbeats come (the last one within a default lease, 15 s) and, on this host, its
process runs; `stale` once its heartbeat is older than that or its process is gone (a worker killed with
`kill -9`: its runs are or will be recovered); `offline` after the online window (90 s).
"""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

from deploytool.models import ACTIVE, utcnow
from deploytool.store import ONLINE_WINDOW_SECONDS, Store
from deploytool.worker.options import DEFAULT_HEARTBEAT_SECONDS, LEASE_HEARTBEATS, process_alive

STALE_AFTER_SECONDS = LEASE_HEARTBEATS * DEFAULT_HEARTBEAT_SECONDS


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
    here = socket.gethostname()
    for worker in store.workers.list(pool_name):
        age = (now - worker.last_heartbeat).total_seconds()
        if age > ONLINE_WINDOW_SECONDS:
            status = "offline"
        elif age > STALE_AFTER_SECONDS or (worker.host == here and not process_alive(worker.pid)):
            status = "stale"
        else:
            status = "online"
        result.append(
            {
                "name": worker.name,
                "pool": worker.pool_name,
                "host": worker.host,
                "pid": worker.pid,
                "last_heartbeat": worker.last_heartbeat.isoformat(),
                "seconds_since_heartbeat": round(max(age, 0.0), 1),
                "online": status == "online",
                "status": status,
                "runs": runs.get((worker.pool_name, worker.name), []),
            }
        )
    return result
