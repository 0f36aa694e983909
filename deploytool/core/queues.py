"""Work queue use cases: create, list, inspect, pause/resume, delete.

A queue is named within its pool. Commands that take `--pool` make it optional when the queue name is
unique across pools; otherwise the error lists the pools that have such a queue.
"""

from __future__ import annotations

from datetime import datetime

from deploytool.core.pool_listing import QueueSummary
from deploytool.core.pools import check_at_most, check_limit, check_name, get_pool
from deploytool.errors import DeploytoolError, NotFoundError
from deploytool.models import WorkQueue
from deploytool.store import Store

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


def resolve_pool(store: Store, name: str, pool: str | None) -> str:
    """The pool of queue `name`: `pool` if given, else the only pool that has such a queue."""
    if pool is not None:
        get_pool(store, pool)
        return pool
    pools = [q.pool_name for q in store.queues.list() if q.name == name]
    if len(pools) == 1:
        return pools[0]
    if not pools:
        raise NotFoundError(f"no work pool has a queue named {name!r}", hint="list queues: deploytool work-queue ls")
    import shlex  # for the hint only: listings load no shlex

    raise DeploytoolError(
        f"several work pools have a queue named {name!r}: {', '.join(pools)}",
        hint=f"say which one: --pool {shlex.quote(pools[0])}",
    )


def check_priority(priority: int | None) -> int | None:
    """A queue priority is None (next free one) or a whole number >= 1; lower numbers are served first."""
    if priority is not None and priority < 1:
        raise DeploytoolError(f"--priority must be 1 or more, not {priority}", hint="1 is served first")
    return check_at_most("--priority", priority, hint="1 is served first")


def create_queue(
    store: Store, name: str, pool: str, *, priority: int | None = None, concurrency_limit: int | None = None
) -> WorkQueue:
    """Add a queue to a pool. Without `priority` it takes the next number (it is served after the others)."""
    check_name("work queue", name)
    check_priority(priority)
    check_limit("--concurrency-limit", concurrency_limit)
    return store.queues.create(pool, name, priority=priority, concurrency_limit=concurrency_limit)


def update_queue(
    store: Store,
    name: str,
    pool: str | None,
    *,
    priority: int | None = None,
    concurrency_limit: int | None = None,
    clear_limit: bool = False,
) -> WorkQueue:
    """Change a queue's priority and/or concurrency limit (`clear_limit` removes the limit)."""
    pool_name = resolve_pool(store, name, pool)
    changes: dict[str, Any] = {}
    if priority is not None:
        changes["priority"] = check_priority(priority)
    if concurrency_limit is not None and clear_limit:
        raise DeploytoolError(
            "--concurrency-limit and --no-concurrency-limit contradict each other", hint="give one of them"
        )
    if concurrency_limit is not None:
        changes["concurrency_limit"] = check_limit("--concurrency-limit", concurrency_limit)
    if clear_limit:
        changes["concurrency_limit"] = None
    if not changes:
        raise DeploytoolError(
            f"nothing to update for work queue {name!r}",
            hint="give --priority N, --concurrency-limit N or --no-concurrency-limit",
        )
    return store.queues.update(pool_name, name, **changes)


def set_paused(store: Store, name: str, pool: str | None, paused: bool) -> WorkQueue:
    """Pause (workers claim nothing from it) or resume a queue."""
    return store.queues.update(resolve_pool(store, name, pool), name, paused=paused)


def delete_queue(store: Store, name: str, pool: str | None) -> WorkQueue:
    """Delete a queue (returned as it was). `default` cannot be deleted, nor a queue in use by deployments
    or unfinished runs."""
    pool_name = resolve_pool(store, name, pool)
    queue = store.queues.get(pool_name, name)
    store.queues.delete(pool_name, name)
    return queue


def list_queues(store: Store, pool: str | None = None, now: datetime | None = None) -> list[QueueSummary]:
    """Queues (of one pool, or all) in the order workers serve them, with their status."""
    now = now or store.now()  # the clock the workers' heartbeats were written by
    if pool is not None:
        get_pool(store, pool)
    statuses: dict[str, str] = {}
    rows = []
    for queue in store.queues.list(pool):
        if queue.pool_name not in statuses:
            statuses[queue.pool_name] = store.workers.pool_status(queue.pool_name, now).value
        rows.append(QueueSummary.of(queue, statuses[queue.pool_name]))
    return rows


def inspect_queue(store: Store, name: str, pool: str | None, now: datetime | None = None) -> QueueSummary:
    """One queue's detail, with its status (PAUSED if it or its pool is paused)."""
    pool_name = resolve_pool(store, name, pool)
    queue = store.queues.get(pool_name, name)
    return QueueSummary.of(queue, store.workers.pool_status(pool_name, now or store.now()).value)
