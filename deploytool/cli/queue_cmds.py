"""`deploytool work-queue ...`: create, ls, inspect, update, pause, resume, delete.

Each command parses its arguments, calls one function of deploytool.core.queues and renders the result.
"""

from __future__ import annotations

import sys

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, print_json, print_table
from deploytool.cli.params import OUTPUT, Argument, Group, Option
from deploytool.cli.store_access import open_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

GROUP = "work-queue"
queue_app = Group(
    GROUP, help="Work queues: the queues of a pool; lower priority numbers are served first. Every pool has `default`."
)
GROUPS = (queue_app,)

NAME = Argument(help="The queue's name.")
POOL = Option("--pool", "-p", help="The queue's pool (optional when the queue name is unique).")
PRIORITY = Option("--priority", help="1 is served first.")
LIMIT = Option("--concurrency-limit", "--limit", help="At most this many runs of the queue at once.")


@queue_app.command()
def create(
    name: Annotated[str, NAME],
    pool: Annotated[str, Option("--pool", "-p", help="The pool to add the queue to.")],
    priority: Annotated[int | None, PRIORITY] = None,
    concurrency_limit: Annotated[int | None, LIMIT] = None,
) -> None:
    """Add a queue to a pool. Without --priority it is served after the pool's other queues."""
    from deploytool.core.queues import create_queue

    with open_store() as store:
        queue = create_queue(store, name, pool, priority=priority, concurrency_limit=concurrency_limit)
    print(f"Created work queue {name!r} in pool {pool!r} (priority {queue.priority}).")


@queue_app.command("ls")
def ls(pool: Annotated[str | None, POOL] = None, output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """List queues (of one pool, or of all) in the order workers serve them."""
    from deploytool.core.queues import list_queues

    with json_errors("work-queue-list", output), open_store() as store:
        queues = list_queues(store, pool)
    if output == OutputFormat.json:
        print_json("work-queue-list", [q.to_dict() for q in queues])
        return
    if not queues:
        print("No work queues: create a work pool first (deploytool work-pool create NAME --type process).")
        return
    rows = [
        (q.pool, q.name, q.priority, "none" if q.concurrency_limit is None else q.concurrency_limit, q.status)
        for q in queues
    ]
    print_table(None, ["pool", "name", "priority", "concurrency limit", "status"], rows)


@queue_app.command()
def inspect(
    name: Annotated[str, NAME],
    pool: Annotated[str | None, POOL] = None,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Show a queue: pool, priority, concurrency limit and status."""
    from deploytool.core.queues import inspect_queue

    with json_errors("work-queue", output), open_store() as store:
        detail = inspect_queue(store, name, pool)
    if output == OutputFormat.json:
        print_json("work-queue", detail.to_dict())
        return
    for key, value in detail.to_dict().items():
        print(f"{key}: {'none' if value is None else value}")


@queue_app.command()
def update(
    name: Annotated[str, NAME],
    pool: Annotated[str | None, POOL] = None,
    priority: Annotated[int | None, PRIORITY] = None,
    concurrency_limit: Annotated[int | None, LIMIT] = None,
    no_concurrency_limit: Annotated[
        bool, Option("--no-concurrency-limit", help="Remove the concurrency limit.")
    ] = False,
) -> None:
    """Change a queue's priority or concurrency limit."""
    from deploytool.core.queues import update_queue

    with open_store() as store:
        queue = update_queue(
            store, name, pool, priority=priority, concurrency_limit=concurrency_limit, clear_limit=no_concurrency_limit
        )
    limit = "none" if queue.concurrency_limit is None else queue.concurrency_limit
    print(f"Updated work queue {name!r} of pool {queue.pool_name!r}: priority {queue.priority}, limit {limit}.")


@queue_app.command()
def pause(name: Annotated[str, NAME], pool: Annotated[str | None, POOL] = None) -> None:
    """Pause a queue: workers claim none of its runs until it is resumed."""
    from deploytool.core.queues import set_paused

    with open_store() as store:
        queue = set_paused(store, name, pool, True)
    print(f"Paused work queue {name!r} of pool {queue.pool_name!r}.")


@queue_app.command()
def resume(name: Annotated[str, NAME], pool: Annotated[str | None, POOL] = None) -> None:
    """Resume a paused queue."""
    from deploytool.core.queues import set_paused

    with open_store() as store:
        queue = set_paused(store, name, pool, False)
    print(f"Resumed work queue {name!r} of pool {queue.pool_name!r}.")


@queue_app.command()
def delete(name: Annotated[str, NAME], pool: Annotated[str | None, POOL] = None) -> None:
    """Delete a queue (not `default`; not while deployments target it or its runs are unfinished)."""
    from deploytool.core.queues import delete_queue

    with open_store() as store:
        queue = delete_queue(store, name, pool)
    print(f"Deleted work queue {name!r} of pool {queue.pool_name!r}.", file=sys.stdout)
