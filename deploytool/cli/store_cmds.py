"""`deploytool store ...`: where the store is, its schema, and moving everything to another store.

The store is chosen by `--store URL` (a global option, before the command) or DEPLOYTOOL_STORE_URL, else the
SQLite file in DEPLOYTOOL_HOME. URLs are printed with their password replaced by `***`.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from deploytool.cli.json_errors import json_errors
from deploytool.cli.output import OutputFormat, print_json, print_table

GROUP = "store"
store_app = typer.Typer(
    name=GROUP,
    help="The store: show it (info), bring its schema up to date (migrate), copy it to another store (copy).",
    no_args_is_help=True,
)
OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="text or json.")]


def _target() -> str:
    from deploytool.settings import Settings

    return Settings.from_env().store


@store_app.command()
def info(output: OutputOption = OutputFormat.text) -> None:
    """Show the store in use: backend, URL (password hidden), schema version and what it holds."""
    from deploytool.store import Store, latest_version

    with json_errors("store-info", output), Store.open(_target()) as store:
        data: dict[str, Any] = {
            "backend": store.backend,
            "url": store.url,
            "schema_version": store.schema_version(),
            "latest_schema_version": latest_version(store.backend),
            "counts": store.table_counts(),
        }
    if output == OutputFormat.json:
        print_json("store-info", data)
        return
    print(f"Backend:        {data['backend']}")
    print(f"URL:            {data['url']}")
    print(f"Schema version: {data['schema_version']} (this deploytool: {data['latest_schema_version']})")
    print_table(None, ["TABLE", "ROWS"], sorted(data["counts"].items()))


@store_app.command()
def migrate(output: OutputOption = OutputFormat.text) -> None:
    """Apply the schema migrations the store is missing (creates an SQLite store; safe to run twice at once)."""
    from deploytool.store import backend_of, migrate_store, redact_url

    target = _target()
    with json_errors("store-migrate", output):
        version, applied = migrate_store(target)
    data = {"backend": backend_of(target), "url": redact_url(target), "schema_version": version, "applied": applied}
    if output == OutputFormat.json:
        print_json("store-migrate", data)
        return
    if applied:
        print(f"Applied migration(s) {', '.join(map(str, applied))}: {data['url']} is at schema version {version}.")
    else:
        print(f"Nothing to do: {data['url']} is at schema version {version}.")


@store_app.command()
def copy(
    target: Annotated[str, typer.Option("--to", help="The store to copy into.", metavar="URL")],
    source: Annotated[
        str | None, typer.Option("--from", help="The store to copy from (default: the store in use).", metavar="URL")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete what the target holds first (otherwise it must be empty).")
    ] = False,
    output: OutputOption = OutputFormat.text,
) -> None:
    """Copy everything (pools, queues, deployments, schedules, runs and logs, workers, variables, blocks) from
    one store into another, e.g. from the SQLite file to PostgreSQL. All or nothing."""
    from deploytool.errors import DeploytoolError
    from deploytool.store import Store, backend_of, copy_store, migrate_store, redact_url

    with json_errors("store-copy", output):
        origin = source or _target()
        if redact_url(origin) == redact_url(target):
            raise DeploytoolError(
                f"--from and --to name the same store ({redact_url(target)})", hint="copy into another store"
            )
        if backend_of(target) == "postgresql":
            migrate_store(target)  # an empty database gets the schema first
        with Store.open(origin) as src, Store.open(target) as dst:
            result = copy_store(src, dst, replace=replace)
    if output == OutputFormat.json:
        print_json("store-copy", {"from": result.source, "to": result.target, "counts": result.counts})
        return
    print(f"Copied {result.source} -> {result.target}{' (its previous content deleted)' if result.replaced else ''}:")
    print_table(None, ["TABLE", "ROWS"], list(result.counts.items()))
    print(
        "Point deploytool at the new store: export DEPLOYTOOL_STORE_URL='<the --to URL>' (or pass --store).",
        file=sys.stderr,
    )


def register(app: typer.Typer) -> None:
    """Add the `store` group to `app` (safe to call more than once)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(store_app, name=GROUP)
