"""Rendering: errors on stderr, tables and the `--output json` envelope on stdout.

The JSON envelope is stable: {"version": 1, "kind": KIND, "ok": BOOL, "data": ..., "errors": [...]}.
"""

from __future__ import annotations

import json
import sys
import unicodedata
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
    """Aligned columns under a rule; as wide as the content (no folding, so grep and CI logs see whole values).

    Plain text on purpose: cells are user data (names, messages) and must never be read as markup.
    """
    header = [str(c) for c in columns]
    body = [[_cell(c) for c in row] for row in rows]
    widths = [max(_width(line[i]) for line in [header, *body]) for i in range(len(header))]
    out = [title] if title else []
    out.append(_row(header, widths))
    out.append("─" * (sum(widths) + 3 * (len(widths) - 1)))
    out.extend(_row(line, widths) for line in body)
    sys.stdout.write("\n".join(out) + "\n")


def _cell(value: object) -> str:
    return "" if value is None else " ".join(str(value).split("\n"))


def _width(text: str) -> int:
    # East Asian wide characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "   ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()
