"""`deploytool deploy` and the `deployment` group: ls, inspect, render, delete."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deploytool.cli.output import OutputFormat, print_json, print_table
from deploytool.cli.values import parse_assignments

if TYPE_CHECKING:
    from deploytool.core.plan import Action

OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="text or json.")]

deployment_app = typer.Typer(help="Registered deployments.", no_args_is_help=True)


def deploy(
    names: Annotated[
        list[str] | None, typer.Option("--name", "-n", help="A deployment to deploy: NAME or FLOW/NAME (repeatable).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Deploy every deployment in the file.")] = False,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="The project file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; write nothing.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete deployments that came from this file and are no longer in it.")
    ] = False,
    pool: Annotated[str | None, typer.Option("--pool", "-p", help="Work pool for every selected deployment.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="KEY=VALUE (JSON when it parses).")] = None,
    job_variable: Annotated[
        list[str] | None, typer.Option("--job-variable", "-jv", help="KEY=VALUE, merged into job_variables.")
    ] = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Validate the file, run build and push steps, and register its deployments (all or nothing)."""
    from deploytool.cli.store_access import open_store
    from deploytool.config import load_project
    from deploytool.core.deploy import DeployOptions
    from deploytool.core.deploy import deploy as run_deploy

    result = load_project(file, default_pool=pool)
    if result.warnings and output == OutputFormat.text:
        from deploytool.cli.output import print_issues

        print_issues(result.warnings)
    project = result.require_valid()
    options = DeployOptions(
        names=list(names or []),
        all=all_,
        dry_run=dry_run,
        prune=prune,
        pool=pool,
        params=parse_assignments(param or [], "--param"),
        job_variables=parse_assignments(job_variable or [], "--job-variable"),
    )
    with open_store() as store:
        outcome = run_deploy(project, store, options, env=os.environ, on_output=_show_step_output)
    plan = outcome.plan
    if output == OutputFormat.json:
        data = {"applied": outcome.applied, "dry_run": dry_run, "items": [i.to_json() for i in plan.items]}
        print_json("deploy", data)
        return
    symbols = {"create": "+", "update": "~", "unchanged": "=", "delete": "-"}
    for item in plan.items:
        detail = f" ({', '.join(item.changed)})" if item.changed else ""
        print(f"{symbols[item.action]} {item.action:<9} {item.deployment.full_name}{detail}")
    words: tuple[tuple[Action, str], ...] = (
        ("create", "created"),
        ("update", "updated"),
        ("delete", "deleted"),
        ("unchanged", "unchanged"),
    )
    counts = ", ".join(f"{plan.count(a)} {word}" for a, word in words if plan.count(a))
    if not plan.has_changes:
        print(f"Nothing to change: {counts}.")
    elif dry_run:
        print(f"Dry run, nothing written. Would be: {counts}.")
    else:
        print(f"Deployed: {counts}.")
        first = next((i.deployment for i in plan.items if i.action in ("create", "update")), None)
        if first is not None:
            print(f"Start a worker: deploytool worker start --pool {first.pool_name}", file=sys.stderr)
            print(f"Run it:         deploytool run '{first.full_name}'", file=sys.stderr)


def _show_step_output(stream: str, line: str) -> None:
    print(line, file=sys.stderr if stream == "stderr" else sys.stdout)


@deployment_app.command("ls")
def ls(
    pool: Annotated[str | None, typer.Option("--pool", "-p", help="Only this pool's deployments.")] = None,
    output: OutputOption = OutputFormat.text,
) -> None:
    """List deployments."""
    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import list_deployments

    with open_store() as store:
        rows = list_deployments(store, pool)
    if output == OutputFormat.json:
        print_json("deployment-list", rows)
        return
    print_table(
        None,
        ["deployment", "pool", "queue", "schedules", "paused", "updated"],
        [
            (r["full_name"], r["pool"], r["queue"], r["schedules_text"], "yes" if r["paused"] else "", r["updated"])
            for r in rows
        ],
    )


@deployment_app.command("inspect")
def inspect(
    name: Annotated[str, typer.Argument(help="FLOW/DEPLOYMENT")],
    output: OutputOption = OutputFormat.text,
) -> None:
    """Show a deployment (secret values redacted)."""
    import json

    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import inspect_deployment

    with open_store() as store:
        data = inspect_deployment(store, name)
    if output == OutputFormat.json:
        print_json("deployment", data)
        return
    print(json.dumps(data, indent=2, default=str))


@deployment_app.command("render")
def render(
    name: Annotated[str, typer.Argument(help="FLOW/DEPLOYMENT")],
    job_variable: Annotated[
        list[str] | None, typer.Option("--job-variable", "-jv", help="KEY=VALUE as a run would set it.")
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show where each value comes from.")] = False,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Print the final job configuration a run of this deployment gets (secrets stay as placeholders)."""
    import json

    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import render_deployment

    overrides = parse_assignments(job_variable or [], "--job-variable")
    with open_store() as store:
        data = render_deployment(store, name, overrides, explain=explain)
    if output == OutputFormat.json:
        print_json("job-configuration", data)
        return
    if explain:
        print_table(None, ["key", "value", "from"], [(r["path"], json.dumps(r["value"]), r["source"]) for r in data])
        return
    print(json.dumps(data, indent=2, default=str))


@deployment_app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="FLOW/DEPLOYMENT")]) -> None:
    """Delete a deployment and its scheduled runs (finished runs stay as history)."""
    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import delete_deployment

    with open_store() as store:
        full_name, removed = delete_deployment(store, name)
    print(f"Deleted {full_name} and {removed} scheduled run{'s' if removed != 1 else ''}.")


def register(app: typer.Typer) -> None:
    app.command()(deploy)
    app.add_typer(deployment_app, name="deployment")
