"""`deploytool work-pool ...`: create, ls, inspect, update, pause, resume, delete, get-default-base-job-template.

Each command parses its arguments, calls one function of deploytool.core.pools and renders the result.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from deploytool import pooltypes
from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, local_time, print_json, print_table
from deploytool.cli.store_access import open_store

GROUP = "work-pool"
pool_app = typer.Typer(
    name=GROUP,
    help=f"Work pools: where deployments send their runs, and how workers run them ({', '.join(pooltypes.names())}).",
    no_args_is_help=True,
)

OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="text or json.")]
TypeOption = Annotated[str, typer.Option("--type", "-t", help=f"The pool type: {pooltypes.listing()}.")]
TemplateOption = Annotated[
    Path | None,
    typer.Option(
        "--base-job-template",
        help="A JSON file with the base job template (job_configuration + variables); see"
        " get-default-base-job-template.",
    ),
]
LimitOption = Annotated[
    int | None, typer.Option("--concurrency-limit", help="At most this many runs of the pool at once (0 stops all).")
]


@pool_app.command()
def create(
    name: Annotated[str, typer.Argument(help="The pool's name.")],
    pool_type: TypeOption,
    base_job_template: TemplateOption = None,
    concurrency_limit: LimitOption = None,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    description: Annotated[str | None, typer.Option("--description", help="A line about the pool.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a pool of the same name.")] = False,
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
    state = "paused" if change.pool.paused else "start a worker: deploytool worker start --pool " + shlex.quote(name)
    done = "Replaced" if change.pool.created != change.pool.updated else "Created"
    print(f"{done} work pool {name!r} ({pool_type}); {state}.")


@pool_app.command("ls")
def ls(output: OutputOption = OutputFormat.text) -> None:
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
    name: Annotated[str, typer.Argument(help="The pool's name.")],
    output: OutputOption = OutputFormat.text,
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
        online = "online" if w.online else "offline"
        seen = local_time(w.last_heartbeat, zone=True)
        trouble = f"; cannot take runs: {w.problem}" if w.problem else ""
        print(f"  {w.name} on {w.host} (pid {w.pid}): {online}, last heartbeat {seen}{trouble}")
    print("base_job_template:")
    print(_indent(json.dumps(detail.base_job_template, indent=2)))


@pool_app.command()
def update(
    name: Annotated[str, typer.Argument(help="The pool's name.")],
    base_job_template: TemplateOption = None,
    concurrency_limit: LimitOption = None,
    no_concurrency_limit: Annotated[
        bool, typer.Option("--no-concurrency-limit", help="Remove the concurrency limit.")
    ] = False,
    description: Annotated[str | None, typer.Option("--description", help="A line about the pool.")] = None,
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
def pause(name: Annotated[str, typer.Argument(help="The pool's name.")]) -> None:
    """Pause a work pool: workers claim none of its runs until it is resumed."""
    from deploytool.core.pools import set_paused

    with open_store() as store:
        set_paused(store, name, True)
    print(f"Paused work pool {name!r}. Resume it with: deploytool work-pool resume {shlex.quote(name)}")


@pool_app.command()
def resume(name: Annotated[str, typer.Argument(help="The pool's name.")]) -> None:
    """Resume a paused work pool."""
    from deploytool.core.pools import set_paused
    from deploytool.models import utcnow

    with open_store() as store:
        set_paused(store, name, False)
        status = store.workers.pool_status(name, utcnow()).value
    print(f"Resumed work pool {name!r} (status {status}).")


@pool_app.command()
def delete(
    name: Annotated[str, typer.Argument(help="The pool's name.")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Also cancel its active runs and delete its deployments and scheduled runs."),
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
    pool_type: TypeOption,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Write it to this file instead.")] = None,
) -> None:
    """Print the default base job template of a pool type as JSON (a starting point for your own)."""
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


def register(app: typer.Typer) -> None:
    """Add the `work-pool` group to `app` (safe to call more than once)."""
    if not any(group.name == GROUP for group in app.registered_groups):
        app.add_typer(pool_app, name=GROUP)
