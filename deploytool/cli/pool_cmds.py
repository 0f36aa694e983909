"""`deploytool work-pool ...`: create, ls, inspect, update, pause, resume, delete, get-default-base-job-template.

Each command parses its arguments, calls one function of deploytool.core.pools and renders the result.
"""

from __future__ import annotations

import sys

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, local_time, print_json, print_table
from deploytool.cli.params import OUTPUT, Argument, Group, Option
from deploytool.cli.store_access import open_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Annotated, Any


def _pool_types() -> str:
    from deploytool import pooltypes

    return ", ".join(pooltypes.names())


def _type_help() -> str:
    from deploytool import pooltypes

    return f"The pool type: {pooltypes.listing()}."


GROUP = "work-pool"
pool_app = Group(
    GROUP, help=lambda: f"Work pools: where deployments send their runs, and how workers run them ({_pool_types()})."
)
GROUPS = (pool_app,)

NAME = Argument(help="The pool's name.")
TYPE = Option("--type", "-t", help=_type_help)
TEMPLATE = Option(
    "--base-job-template",
    help="A JSON file with the base job template (job_configuration + variables); see get-default-base-job-template.",
)
LIMIT = Option("--concurrency-limit", help="At most this many runs of the pool at once (0 stops all).")
DESCRIPTION = Option("--description", help="A line about the pool.")


@pool_app.command()
def create(
    name: Annotated[str, NAME],
    pool_type: Annotated[str, TYPE],
    base_job_template: Annotated[Path | None, TEMPLATE] = None,
    concurrency_limit: Annotated[int | None, LIMIT] = None,
    paused: Annotated[bool, Option("--paused", help="Create it paused.")] = False,
    description: Annotated[str | None, DESCRIPTION] = None,
    overwrite: Annotated[bool, Option("--overwrite", help="Replace a pool of the same name.")] = False,
) -> None:
    """Create a work pool (with its `default` queue), from the type's default template or your own."""
    from deploytool.core.pools import check_pool_type, create_pool, read_base_job_template

    check_pool_type(pool_type)
    template = read_base_job_template(base_job_template, pool_type) if base_job_template else None
    with open_store() as store:
        change = create_pool(
            store,
            name,
            pool_type,
            base_job_template=template,
            concurrency_limit=concurrency_limit,
            paused=paused,
            description=description,
            overwrite=overwrite,
        )
    _warn(change.warnings)
    from shlex import quote

    state = "paused" if change.pool.paused else "start a worker: deploytool worker start --pool " + quote(name)
    done = "Replaced" if change.pool.created != change.pool.updated else "Created"
    print(f"{done} work pool {name!r} ({pool_type}); {state}.")


@pool_app.command("ls")
def ls(output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text) -> None:
    """List work pools with their status (READY / NOT_READY / PAUSED) and queued and running runs."""
    from deploytool.core.pool_listing import list_pools

    with json_errors("work-pool-list", output), open_store() as store:
        pools = list_pools(store)
    if output == OutputFormat.json:
        print_json("work-pool-list", [p.to_dict() for p in pools])
        return
    if not pools:
        print("No work pools. Create one: deploytool work-pool create NAME --type process", file=sys.stderr)
        return
    rows = [(p.name, p.type, p.status, _limit(p.concurrency_limit), p.queued, p.running) for p in pools]
    print_table(None, ["name", "type", "status", "concurrency limit", "queued", "running"], rows)
    for p in [p for p in pools if p.problem]:
        print(f"pool {p.name} is {p.status}: {p.problem}")


@pool_app.command()
def inspect(
    name: Annotated[str, NAME],
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Show a work pool: status, limits, queues, workers and its base job template."""
    from deploytool.core.pool_listing import inspect_pool

    with json_errors("work-pool", output), open_store() as store:
        detail = inspect_pool(store, name)
    if output == OutputFormat.json:
        print_json("work-pool", detail.to_dict())
        return
    pool = detail.summary
    print(f"name: {pool.name}")
    print(f"type: {pool.type}")
    print(f"description: {'-' if pool.description is None else pool.description}")
    print(f"status: {pool.status}" + (f" ({pool.problem})" if pool.problem else ""))
    print(f"concurrency_limit: {_limit(pool.concurrency_limit)}")
    print(f"queued: {pool.queued}")
    print(f"running: {pool.running}")
    print(f"created: {local_time(pool.created, '-', zone=True)}")
    print("queues:")
    for q in detail.queues:
        print(f"  {q.name}: priority {q.priority}, limit {_limit(q.concurrency_limit)}, {q.status}")
    print("workers:" + ("" if detail.workers else " none"))
    for w in detail.workers:
        seen = local_time(w.last_heartbeat, zone=True)
        trouble = f"; cannot take runs: {w.problem}" if w.problem else ""
        print(f"  {w.name} on {w.host} (pid {w.pid}): {w.status}, last heartbeat {seen}{trouble}")  # as worker ls
    print("base_job_template:")
    import json

    print(_indent(json.dumps(detail.base_job_template, indent=2)))


@pool_app.command()
def update(
    name: Annotated[str, NAME],
    base_job_template: Annotated[Path | None, TEMPLATE] = None,
    concurrency_limit: Annotated[int | None, LIMIT] = None,
    no_concurrency_limit: Annotated[
        bool, Option("--no-concurrency-limit", help="Remove the concurrency limit.")
    ] = False,
    description: Annotated[str | None, DESCRIPTION] = None,
) -> None:
    """Change a work pool. A new base job template replaces the whole template."""
    from deploytool.core.pools import read_base_job_template, update_pool
    from deploytool.errors import DeploytoolError

    changes: dict[str, Any] = {}
    if concurrency_limit is not None and no_concurrency_limit:
        raise DeploytoolError(
            "--concurrency-limit and --no-concurrency-limit contradict each other", hint="give one of them"
        )
    if concurrency_limit is not None or no_concurrency_limit:
        changes["concurrency_limit"] = concurrency_limit
    if description is not None:
        changes["description"] = description
    with open_store() as store:
        if base_job_template is not None:
            changes["base_job_template"] = read_base_job_template(base_job_template, store.pools.get(name).type)
        change = update_pool(store, name, **changes)
    _warn(change.warnings)
    print(f"Updated work pool {name!r}: {', '.join(sorted(changes))}.")


@pool_app.command()
def pause(name: Annotated[str, NAME]) -> None:
    """Pause a work pool: workers claim none of its runs until it is resumed."""
    from deploytool.core.pools import set_paused

    with open_store() as store:
        set_paused(store, name, True)
    from shlex import quote

    print(f"Paused work pool {name!r}. Resume it with: deploytool work-pool resume {quote(name)}")


@pool_app.command()
def resume(name: Annotated[str, NAME]) -> None:
    """Resume a paused work pool."""
    from deploytool.core.pools import set_paused

    with open_store() as store:
        set_paused(store, name, False)
        status = store.workers.pool_status(name, store.now()).value  # the clock the heartbeats were written by
    print(f"Resumed work pool {name!r} (status {status}).")


@pool_app.command()
def delete(
    name: Annotated[str, NAME],
    force: Annotated[
        bool,
        Option("--force", help="Also cancel its active runs and delete its deployments and scheduled runs."),
    ] = False,
) -> None:
    """Delete a work pool. Refused while runs are active or deployments use it, unless --force."""
    from deploytool.core.pools import delete_pool

    with open_store() as store:
        done = delete_pool(store, name, force=force)
    extra = []
    if done.cancelled_runs:
        extra.append(f"cancelling {done.cancelled_runs} active run(s)")
    if done.deleted_scheduled_runs:
        extra.append(f"deleted {done.deleted_scheduled_runs} scheduled run(s)")
    if done.deleted_deployments:
        extra.append(f"deleted {done.deleted_deployments} deployment(s)")
    print(f"Deleted work pool {name!r}" + (f" ({', '.join(extra)})" if extra else "") + ".")


@pool_app.command("get-default-base-job-template")
def get_default_base_job_template(
    pool_type: Annotated[str, TYPE],
    file: Annotated[Path | None, Option("--file", "-f", help="Write it to this file instead.")] = None,
) -> None:
    """Print the default base job template of a pool type as JSON (a starting point for your own)."""
    import json

    from deploytool.core.pools import default_template
    from deploytool.errors import DeploytoolError

    text = json.dumps(default_template(pool_type), indent=2) + "\n"
    if file is None:
        sys.stdout.write(text)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DeploytoolError(f"cannot write {file}: {exc.strerror or exc}") from None
    print(f"wrote {file}", file=sys.stderr)


def _limit(value: object) -> str:
    return "none" if value is None else str(value)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if warnings:
        print(
            "warning: runs of those deployments will be refused until their job_variables fit the template",
            file=sys.stderr,
        )
