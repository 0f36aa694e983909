"""Rendering: errors on stderr, tables and the `--output json` envelope on stdout.

The JSON envelope is stable: {"version": 1, "kind": KIND, "ok": BOOL, "data": ..., "errors": [...]}.

Times: JSON carries ISO 8601 with an offset (`2026-12-03T09:00:00+00:00`); text shows this machine's local
time (`2026-12-03 10:00:00`) and names the zone once per table, in the rule under the header.

Colour: states, log levels and errors are coloured when the stream is a terminal, unless NO_COLOR is set
(https://no-color.org) or TERM is `dumb`; piped or redirected output never carries escape codes.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum

from deploytool.errors import ConfigError, ConfigIssue, DeploytoolError

TYPE_CHECKING = False  # not typing's: every command imports this module before it runs (issue 17 item 4)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime
    from typing import Any, TextIO

ENVELOPE_VERSION = 1


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


# ANSI SGR codes of the words that get a colour: run states, pool and worker statuses, log levels.
_STYLES = {
    "COMPLETED": "32",
    "FAILED": "31",
    "CRASHED": "1;31",
    "CANCELLED": "33",
    "CANCELLING": "33",
    "RUNNING": "36",
    "PENDING": "36",
    "LATE": "33",
    "READY": "32",
    "NOT_READY": "33",
    "PAUSED": "33",
    "online": "32",
    "offline": "2",
    "CRITICAL": "1;31",
    "ERROR": "31",
    "WARNING": "33",
    "DEBUG": "2",
    "error": "1;31",
    "warning": "33",
}
# Table columns whose cells are states or statuses (coloured by their first word).
_STATE_COLUMNS = frozenset({"state", "status"})


def colour_enabled(stream: TextIO) -> bool:
    """Escape codes only for a terminal, and never with NO_COLOR set (non-empty) or TERM=dumb."""
    if os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def paint(text: str, word: str, stream: TextIO) -> str:
    """`text` in the colour of `word` (a state, status or level) when `stream` takes colour; else as it is."""
    code = _STYLES.get(word)
    if code is None or not text or not colour_enabled(stream):
        return text
    return f"\033[{code}m{text}\033[0m"


def local_time(value: datetime | str | None, empty: str = "", *, zone: bool = False) -> str:
    """An aware time (or its ISO text) as this machine's local time; tables name the zone once (`local_times`),
    a time on its own line or in a sentence carries it (`zone=True`)."""
    if value is None or value == "":
        return empty
    from datetime import datetime

    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    text = f"{when.astimezone():%Y-%m-%d %H:%M:%S}"
    return f"{text} ({zone_label()})" if zone else text


def zone_label() -> str:
    """This machine's time zone: its IANA name when known (TZ, /etc/localtime), else abbreviation and offset."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz and not tz.startswith("/"):
        return tz
    from datetime import datetime

    now = datetime.now().astimezone()
    offset = now.strftime("%z")
    offset_text = f"UTC{offset[:3]}:{offset[3:]}" if offset not in ("+0000", "") else "UTC"
    if not tz:
        from pathlib import Path

        try:
            target = str(Path("/etc/localtime").resolve())
        except OSError:
            target = ""
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            if name not in ("UTC", "Etc/UTC", "Universal", "Zulu"):
                return f"{name} ({offset_text})"
    abbreviation = now.tzname() or ""
    if offset_text == "UTC" or not abbreviation or abbreviation[0] in "+-":
        return offset_text
    return f"{abbreviation} ({offset_text})"


def print_error(exc: DeploytoolError) -> None:
    if isinstance(exc, ConfigError):
        print_issues(exc.issues)
        return
    print(f"{paint('Error:', 'error', sys.stderr)} {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"  hint: {exc.hint}", file=sys.stderr)


def print_issues(issues: Sequence[ConfigIssue]) -> None:
    for issue in issues:
        print(paint(issue.format(), issue.severity, sys.stderr), file=sys.stderr)
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
    import json

    sys.stdout.write(json.dumps(envelope, indent=2, default=json_default) + "\n")


def json_default(value: object) -> object:
    """JSON for what json cannot encode: times as ISO 8601 (with their offset), anything else as its text."""
    from datetime import date, datetime

    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def print_table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]], *, local_times: bool = False
) -> None:
    """Aligned columns under a rule; as wide as the content (no folding, so grep and CI logs see whole values).

    Plain text on purpose: cells are user data (names, messages) and must never be read as markup; only the
    `state`/`status` cells are coloured, on a terminal. `local_times`: the table holds local times (made with
    `local_time`), and the rule under the header names the zone.
    """
    header = [str(c) for c in columns]
    body = [[_cell(c) for c in row] for row in rows]
    widths = [max(_width(line[i]) for line in [header, *body]) for i in range(len(header))]
    width = sum(widths) + 3 * (len(widths) - 1)
    out = [title] if title else []
    out.append(_row(header, widths))
    if local_times:
        note = f"── times in {zone_label()} "
        out.append(note + "─" * max(width - _width(note), 2))
    else:
        out.append("─" * width)
    painted = {i for i, name in enumerate(header) if name in _STATE_COLUMNS}
    out.extend(_row(line, widths, painted) for line in body)
    sys.stdout.write("\n".join(out) + "\n")


def _cell(value: object) -> str:
    return "" if value is None else " ".join(str(value).split("\n"))


def _width(text: str) -> int:
    # East Asian wide characters take two columns in a terminal.
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row(cells: Sequence[str], widths: Sequence[int], painted: set[int] | frozenset[int] = frozenset()) -> str:
    # Colour is added around the text and the padding counted from the text, so escape codes take no width.
    return "   ".join(
        (paint(c, c.split(" ", 1)[0], sys.stdout) if i in painted else c) + " " * (w - _width(c))
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    ).rstrip()
