"""What `deploytool worker ls` shows: each worker's host, pid, when it was last seen, its status, what keeps it from
taking runs, and its runs. The status (online, stale, offline) and the problem's wording are those of
`work-pool inspect` and the dashboard: one rule (deploytool.store.worker_status).
"""

from __future__ import annotations

from datetime import datetime

from deploytool.models import ACTIVE, WorkerStatus, this_host
from deploytool.store import Store, worker_status

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


def list_workers(store: Store, pool_name: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Workers (of one pool, or all) with their active runs, most recent heartbeat first.

    NotFoundError (with a hint) for a pool that does not exist.
    """
    now = now or store.now()  # the clock the heartbeats were written by
    if pool_name is not None:
        store.pools.get(pool_name)
    runs: dict[tuple[str, str], list[dict[str, str]]] = {}
    for run in store.runs.list(state=ACTIVE, pool_name=pool_name, limit=1_000_000):
        if run.worker_name is not None:
            runs.setdefault((run.pool_name, run.worker_name), []).append(
                {"id": run.id, "name": run.name, "state": run.state.value}
            )
    result = []
    here = this_host()
    for worker in store.workers.list(pool_name):
        age = (now - worker.last_heartbeat).total_seconds()
        status = worker_status(worker, now, here)
        result.append(
            {
                "name": worker.name,
                "pool": worker.pool_name,
                "host": worker.host,
                "pid": worker.pid,
                "last_heartbeat": worker.last_heartbeat.isoformat(),
                "seconds_since_heartbeat": round(max(age, 0.0), 1),
                "online": status is WorkerStatus.ONLINE,
                "status": status.value,
                "problem": worker.problem,
                "runs": runs.get((worker.pool_name, worker.name), []),
            }
        )
    return result
