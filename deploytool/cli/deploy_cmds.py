"""`deploytool deploy` and the `deployment` group: ls, inspect, render, delete."""

from __future__ import annotations

import os
import sys

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, local_time, print_json, print_table
from deploytool.cli.params import OUTPUT, Argument, Group, Option
from deploytool.cli.run_output import WATCH_EXIT_HELP
from deploytool.cli.values import parse_assignments

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Annotated

    from deploytool.core.deploy import DeployOptions
    from deploytool.core.plan import Action

commands = Group()
deployment_app = Group("deployment", help="Registered deployments.")
GROUPS = (commands, deployment_app)

NAME = Argument(help="FLOW/DEPLOYMENT")


@commands.command()
def deploy(
    names: Annotated[
        list[str] | None, Option("--name", "-n", help="A deployment to deploy: NAME or FLOW/NAME (repeatable).")
    ] = None,
    all_: Annotated[bool, Option("--all", help="Deploy every deployment in the file.")] = False,
    file: Annotated[Path | None, Option("--file", "-f", help="The project file.")] = None,
    dry_run: Annotated[bool, Option("--dry-run", help="Show the plan; write nothing.")] = False,
    strict: Annotated[
        bool, Option("--strict", help="Treat warnings (e.g. keys and job variables Prefect ignores) as errors.")
    ] = False,
    prune: Annotated[
        bool, Option("--prune", help="Delete deployments that came from this file and are no longer in it.")
    ] = False,
    pool: Annotated[str | None, Option("--pool", "-p", help="Work pool for every selected deployment.")] = None,
    param: Annotated[list[str] | None, Option("--param", help="KEY=VALUE (JSON when it parses).")] = None,
    job_variable: Annotated[
        list[str] | None, Option("--job-variable", "-jv", help="KEY=VALUE, merged into job_variables.")
    ] = None,
    cron: Annotated[
        list[str] | None,
        Option("--cron", help="A cron schedule (repeatable); replaces the file's schedules of the selection."),
    ] = None,
    interval: Annotated[
        list[str] | None,
        Option("--interval", help="An interval schedule: seconds, PT10M or HH:MM:SS (repeatable); replaces."),
    ] = None,
    rrule: Annotated[
        list[str] | None, Option("--rrule", help="An RFC 5545 rrule schedule (repeatable); replaces.")
    ] = None,
    timezone: Annotated[
        str | None, Option("--timezone", help="IANA timezone of the --cron/--interval/--rrule schedules.")
    ] = None,
    anchor_date: Annotated[
        str | None, Option("--anchor-date", help="ISO date and time the --interval schedules count from.")
    ] = None,
    verbose: Annotated[
        bool, Option("--verbose", "-v", help="In a terminal, every line of image builds (not one per step).")
    ] = False,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Validate the file, run build and push steps, and register its deployments (all or nothing)."""
    from deploytool.core.deploy import DeployOptions
    from deploytool.scheduling import schedule_items

    with json_errors("deploy", output):
        options = DeployOptions(
            names=list(names or []),
            all=all_,
            dry_run=dry_run,
            strict=strict,
            prune=prune,
            pool=pool,
            params=parse_assignments(param or [], "--param"),
            job_variables=parse_assignments(job_variable or [], "--job-variable"),
            schedules=schedule_items(cron or [], interval or [], rrule or [], timezone, anchor_date),
        )
        _deploy(file, options, output, verbose=verbose)


def _deploy(file: Path | None, options: DeployOptions, output: OutputFormat, *, verbose: bool = False) -> None:
    from deploytool.cli.store_access import open_store
    from deploytool.config import load_project
    from deploytool.core.deploy import deploy as run_deploy

    dry_run = options.dry_run
    result = load_project(file, default_pool=options.pool, strict=options.strict)
    if result.warnings and output == OutputFormat.text:
        from deploytool.cli.output import print_issues

        print_issues(result.warnings)
    project = result.require_valid()
    from deploytool.cli.progress import step_output

    live = output == OutputFormat.text and sys.stdout.isatty()  # a live build/push display; plain lines in CI
    with (
        open_store() as store,
        step_output(
            live, _show_step_output if output == OutputFormat.text else _step_output_to_stderr, verbose=verbose
        ) as on_output,
    ):
        outcome = run_deploy(project, store, options, env=os.environ, on_output=on_output)
    plan = outcome.plan
    if output == OutputFormat.json:
        data = {
            "warnings": [w.format() for w in outcome.warnings],
            "applied": outcome.applied,
            "dry_run": dry_run,
            "items": [i.to_json() for i in plan.items],
            "rebuilt_images": outcome.rebuilt_images,
        }
        print_json("deploy", data)
        return
    if outcome.warnings:
        from deploytool.cli.output import print_issues

        print_issues(outcome.warnings)
    symbols = {"create": "+", "update": "~", "unchanged": "=", "delete": "-"}
    for item in plan.items:
        detail = f" ({', '.join(item.changed)})" if item.changed else ""
        print(f"{symbols[item.action]} {item.action:<9} {item.deployment.full_name}{detail}")
        if dry_run and item.action != "delete":
            for path, value in item.unresolved():  # step outputs known only after the step ran
                print(f"    {path}: {value}")
    words: tuple[tuple[Action, str], ...] = (
        ("create", "created"),
        ("update", "updated"),
        ("delete", "deleted"),
        ("unchanged", "unchanged"),
    )
    counts = ", ".join(f"{plan.count(a)} {word}" for a, word in words if plan.count(a))
    if outcome.rebuilt_images:  # the deployments name the same tag, but its runs get new content
        images = ", ".join(outcome.rebuilt_images)
        tail = "" if plan.has_changes else f" Deployments: {counts}."
        print(f"Image rebuilt (content changed): {images}; new runs use it.{tail}")
    if not plan.has_changes:
        if not outcome.rebuilt_images:
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
    if stream != "progress":  # progress events go to a live display only (deploytool.cli.progress)
        print(line, file=sys.stderr if stream == "stderr" else sys.stdout)


def _step_output_to_stderr(stream: str, line: str) -> None:
    """With --output json, stdout holds the envelope alone: step output goes to stderr."""
    if stream != "progress":
        print(line, file=sys.stderr)


@deployment_app.command("ls")
def ls(
    pool: Annotated[str | None, Option("--pool", "-p", help="Only this pool's deployments.")] = None,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """List deployments."""
    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import list_deployments

    with json_errors("deployment-list", output), open_store() as store:
        rows = list_deployments(store, pool)
    if output == OutputFormat.json:
        print_json("deployment-list", [r.to_dict() for r in rows])
        return
    print_table(
        None,
        ["deployment", "pool", "queue", "schedules", "next run", "paused", "updated"],
        [
            (
                r.full_name,
                r.pool,
                r.queue,
                r.schedules_text,
                local_time(r.next_run, "-"),
                "yes" if r.paused else "",
                local_time(r.updated),
            )
            for r in rows
        ],
        local_times=True,
    )


@deployment_app.command("pause")
def pause(name: Annotated[str, NAME]) -> None:
    """Pause a deployment's schedules: its waiting scheduled runs are deleted (manual runs stay)."""
    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import pause_deployment

    with open_store() as store:
        deployment, removed = pause_deployment(store, name)
    print(f"Paused {deployment.full_name}: deleted {removed} scheduled run{'s' if removed != 1 else ''}.")
    print(f"Resume it with: deploytool deployment resume '{deployment.full_name}'", file=sys.stderr)


@deployment_app.command("resume")
def resume(name: Annotated[str, NAME]) -> None:
    """Resume a paused deployment: its schedules make runs again from now on (missed times are not made up)."""
    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import resume_deployment

    with open_store() as store:
        deployment, created = resume_deployment(store, name)
    print(f"Resumed {deployment.full_name}: scheduled {created} run{'s' if created != 1 else ''}.")


@deployment_app.command("inspect")
def inspect(
    name: Annotated[str, NAME],
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Show a deployment (secret values redacted)."""
    import json

    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import inspect_deployment

    with json_errors("deployment", output), open_store() as store:
        detail = inspect_deployment(store, name)
    if output == OutputFormat.json:
        print_json("deployment", detail.to_dict())
        return
    print(json.dumps(detail.to_dict(), indent=2, default=str))


@deployment_app.command("render")
def render(
    name: Annotated[str, NAME],
    job_variable: Annotated[
        list[str] | None, Option("--job-variable", "-jv", help="KEY=VALUE as a run would set it.")
    ] = None,
    explain: Annotated[bool, Option("--explain", help="Show where each value comes from.")] = False,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Print the final job configuration a run of this deployment gets (secrets stay as placeholders)."""
    import json

    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import explain_deployment, render_deployment

    overrides = parse_assignments(job_variable or [], "--job-variable")
    with json_errors("job-configuration", output), open_store() as store:
        if explain:
            rows = explain_deployment(store, name, overrides)
        else:
            data = render_deployment(store, name, overrides)
    if explain and output == OutputFormat.json:
        print_json("job-configuration", [{"path": r.path, "value": r.value, "source": r.source} for r in rows])
    elif explain:
        print_table(None, ["key", "value", "from"], [(r.path, json.dumps(r.value), r.source) for r in rows])
    elif output == OutputFormat.json:
        print_json("job-configuration", data)
    else:
        print(json.dumps(data, indent=2, default=str))


@deployment_app.command("delete")
def delete(name: Annotated[str, NAME]) -> None:
    """Delete a deployment and its scheduled runs (finished runs stay as history)."""
    from deploytool.cli.store_access import open_store
    from deploytool.core.deployments import delete_deployment

    with open_store() as store:
        full_name, removed = delete_deployment(store, name)
    print(f"Deleted {full_name} and {removed} scheduled run{'s' if removed != 1 else ''}.")


# Prefect's spelling: `deployment run FLOW/DEPLOYMENT` is `deploytool run FLOW/DEPLOYMENT`.
deployment_app.add("deploytool.cli.run_cmds:run", "run", epilog=WATCH_EXIT_HELP)
