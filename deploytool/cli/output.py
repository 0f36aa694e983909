"""Rendering: errors on stderr, tables and the `--output json` envelope on stdout.

The JSON envelope is stable: {"version": 1, "kind": KIND, "ok": BOOL, "data": ..., "errors": [...]}.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from deploytool.errors import ConfigError, ConfigIssue, DeploytoolError

ENVELOPE_VERSION = 1


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def print_error(exc: DeploytoolError) -> None:
    if isinstance(exc, ConfigError):
        print_issues(exc.issues)
        return
    print(f"Error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"  hint: {exc.hint}", file=sys.stderr)


def print_issues(issues: Sequence[ConfigIssue]) -> None:
    for issue in issues:
        print(issue.format(), file=sys.stderr)
    errors = sum(1 for i in issues if i.severity == "error")
    warnings = len(issues) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    if parts:
        print(f"Found {' and '.join(parts)}.", file=sys.stderr)


def issue_to_json(issue: ConfigIssue) -> dict[str, Any]:
    return {
        "file": issue.file,
        "line": issue.line,
        "column": issue.column,
        "path": issue.path,
        "message": issue.message,
        "hint": issue.hint,
        "severity": issue.severity,
    }


def print_json(kind: str, data: Any, *, ok: bool = True, errors: Iterable[dict[str, Any]] = ()) -> None:
    envelope = {"version": ENVELOPE_VERSION, "kind": kind, "ok": ok, "data": data, "errors": list(errors)}
    sys.stdout.write(json.dumps(envelope, indent=2, default=str) + "\n")


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, box=box.SIMPLE_HEAD)
    for index, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=index == 0)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    # Piped output (CI logs, grep) is not cut to 80 columns; a table is only as wide as its content.
    width = None if sys.stdout.isatty() else 200
    Console(soft_wrap=False, width=width, highlight=False).print(table)
