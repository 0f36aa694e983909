"""When a run should start, from what a user typed: `--start-in 1h30m` or `--start-at 2030-01-31T17:30`.

Shared by the CLI (`deploytool run`) and the dashboard's run form, so both read times alike.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from deploytool.errors import DeploytoolError, UsageError, did_you_mean
from deploytool.models import utcnow

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")


def parse_duration(text: str) -> timedelta:
    """`30s`, `10m`, `2h`, `1d`, `1h30m`, `90 seconds`, `5 minutes` -> a timedelta. Every number needs a unit."""
    source = text.strip().lower()
    hint = "use a number with a unit: 30s, 10m, 2h, 1d, or combined: 1h30m"
    if not source:
        raise DeploytoolError("--start-in: empty duration", hint=hint)
    total = 0.0
    seen: set[int] = set()
    pos = 0
    while pos < len(source):
        match = _PART.match(source, pos)
        if match is None or match.end() == pos:
            raise DeploytoolError(f"--start-in {text!r}: not a duration", hint=hint)
        unit = _UNITS.get(match[2])
        if unit is None:
            close = did_you_mean(match[2], _UNITS)
            raise DeploytoolError(f"--start-in {text!r}: unknown unit {match[2]!r}", hint=close or hint)
        if unit in seen:
            raise DeploytoolError(f"--start-in {text!r}: the unit {match[2]!r} is given twice", hint=hint)
        seen.add(unit)
        total += float(match[1]) * unit
        pos = match.end()
    return timedelta(seconds=total)


def parse_start_at(text: str) -> datetime:
    """An ISO 8601 date and time -> aware UTC. Without an offset it is the local time of this machine."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DeploytoolError(
            f"--start-at {text!r}: not an ISO 8601 date and time",
            hint="for example 2030-01-31T17:30 (local time) or 2030-01-31T17:30:00+00:00 or ...Z (UTC)",
        ) from None
    return value.astimezone(UTC)  # astimezone() reads a naive value as local time


def scheduled_time(start_in: str | None, start_at: str | None, now: datetime | None = None) -> datetime:
    """The run's scheduled time from `--start-in` or `--start-at` (at most one), else now."""
    now = now or utcnow()
    if start_in is not None and start_at is not None:
        raise UsageError("--start-in and --start-at: give one of them, not both")
    try:
        if start_in is not None:
            return now + parse_duration(start_in)
        if start_at is not None:
            return parse_start_at(start_at)
    except OverflowError:  # beyond datetime's range (year 1 to 9999)
        option, text = ("--start-in", start_in) if start_in is not None else ("--start-at", start_at)
        raise DeploytoolError(
            f"{option} {text!r}: too far away (the scheduled time must fall between the years 1 and 9999)",
            hint="give a shorter delay, e.g. --start-in 30d, or a time such as --start-at 2030-01-31T17:30",
        ) from None
    return now


def start_time(start_in: str | None, start_at: str | None) -> datetime | timedelta | None:
    """When a run asked for with `--start-in` or `--start-at` is due, for `submit_run`: a time (`--start-at`), a
    delay after the store's now (`--start-in`: the store's clock schedules runs, not this host's, which may be
    off), or None (the store's now). Checked here, so a bad option is refused before the store is opened."""
    scheduled_time(start_in, start_at)  # refuses both at once, a bad text, a time beyond datetime's range
    if start_in is not None:
        return parse_duration(start_in)
    return parse_start_at(start_at) if start_at is not None else None
