"""Commands about the project file: validate, schema, init."""

from __future__ import annotations

import sys
from pathlib import Path

from deploytool.cli.output import OutputFormat, issue_to_json, print_issues, print_json, print_table
from deploytool.cli.params import OUTPUT, Exit, Group, Option
from deploytool.errors import EXIT_ERROR

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

commands = Group()
GROUPS = (commands,)

FILE = Option("--file", "-f", help="The project file (default: deploy.yaml, else prefect.yaml, here).")


@commands.command()
def validate(
    file: Annotated[Path | None, FILE] = None,
    strict: Annotated[bool, Option("--strict", help="Treat warnings (e.g. keys Prefect ignores) as errors.")] = False,
    output: Annotated[OutputFormat, OUTPUT] = OutputFormat.text,
) -> None:
    """Check the project file; report every problem at once with its line, or summarise its deployments."""
    from deploytool.config import display_name, load_project
    from deploytool.core.summary import summarise

    result = load_project(file, strict=strict)
    if result.project is not None:  # job variables against their pool, when the store holds it (read only)
        from deploytool.core.resolve import pool_job_variable_issues

        result.issues = sorted([*result.issues, *pool_job_variable_issues(result.project, strict=strict)])
    ok = not result.errors and result.project is not None
    if output == OutputFormat.json:
        data = summarise(result.project).to_dict() if ok and result.project else None
        print_json("validation", data, ok=ok, errors=[issue_to_json(i) for i in result.issues])
        raise Exit(0 if ok else EXIT_ERROR)
    if result.issues:
        print_issues(result.issues)
    if not ok or result.project is None:
        raise Exit(EXIT_ERROR)
    summary = summarise(result.project)
    rows = [
        (f"{d.flow_name}/{d.name}", d.work_pool or "-", d.schedules_text, d.steps_text) for d in summary.deployments
    ]
    print_table(None, ["deployment", "pool", "schedules", "steps (build/push/pull)"], rows)
    count = len(rows)
    print(f"{display_name(result.file)}: valid, {count} deployment{'s' if count != 1 else ''}.")


@commands.command()
def schema() -> None:
    """Print the JSON Schema that validates deploy.yaml (for editors: see the README)."""
    from deploytool.config.schema_check import schema_text

    sys.stdout.write(schema_text())


@commands.command()
def init(
    recipe: Annotated[str, Option("--recipe", "-r", help="process or docker.")] = "process",
    directory: Annotated[Path, Option("--directory", "-d", help="Where to write deploy.yaml.")] = Path(),
    force: Annotated[bool, Option("--force", help="Overwrite an existing deploy.yaml.")] = False,
) -> None:
    """Write a commented starter deploy.yaml (and its sample flow) that validates."""
    from deploytool.core.starter import write_starter

    written = write_starter(recipe, directory, force=force)
    for path in written:
        print(f"wrote {path}")
    print("next: deploytool validate", file=sys.stderr)
