"""Schedule items of a deployment: semantic checks, a normalised form, and the next run times.

The JSON schema has already checked the shape of an item (which keys, which types). This module checks what
the schema cannot: that a cron expression parses, that an interval is positive, that a timezone exists.
Every problem names the key it is about, so the caller can point at the right line of the file.

Time semantics (the scheduler relies on these; they follow Prefect's documented behaviour):

- cron is evaluated on the wall clock of the schedule's timezone. A wall time that does not exist (spring
  forward) runs once, shifted forward by the gap (02:30 becomes 03:30); a wall time that happens twice (fall
  back) runs once, at its first occurrence. When the hour field is a wildcard or a step (`*`, `*/2`), the
  job is sub-daily and follows the new time instead: skipped wall times do not run, repeated ones run twice.
- an interval shorter than a day is absolute (every N seconds in UTC, counted from the anchor); whole days
  of an interval follow the wall clock, so a daily interval keeps its local time across DST.
- an rrule is expanded on the wall clock like a fixed-time cron, unless its DTSTART carries its own zone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache

from deploytool.errors import DeploytoolError, close_matches
from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `deployment ls` imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any, Literal

    Kind = Literal["cron", "interval", "rrule"]
KINDS: tuple[Kind, ...] = ("cron", "interval", "rrule")
# Keys an item may carry besides its kind. The legacy ones are accepted; the caller warns about them.
OTHER_KEYS = ("timezone", "anchor_date", "day_or", "active", "parameters", "slug", "replaces")
LEGACY_KEYS = ("max_active_runs", "catchup")

CRON_FIELDS = ("minute", "hour", "day of month", "month", "day of week", "second", "year")
CRON_EXAMPLE = "e.g. '30 2 * * 1-5' = 02:30 on weekdays (minute hour day-of-month month day-of-week)"
INTERVAL_EXAMPLE = "seconds (3600), an ISO-8601 duration (PT10M, P1D) or HH:MM:SS (01:30:00)"
RRULE_EXAMPLE = "e.g. 'FREQ=DAILY;BYHOUR=8;BYMINUTE=0', optionally after a 'DTSTART:20240101T080000' line"
# Where an interval without anchor_date is counted from: a fixed, round instant (midnight in the schedule's
# timezone), so that hourly runs fall on the hour and the times do not depend on when the file was deployed.
DEFAULT_ANCHOR = datetime(2020, 1, 1)

_RANDOM_OR_HASHED = re.compile(r"(?:^|[\s,])[RrHh](?=$|[\s,(/])")
_ISO_DURATION = re.compile(
    r"P(?:(?P<years>\d+(?:\.\d+)?)Y)?(?:(?P<months>\d+(?:\.\d+)?)M)?(?:(?P<weeks>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)
# `str(timedelta)` form as well as plain HH:MM:SS: "1 day, 02:00:00", "2 days 00:00:00", "01:30:00.5".
_CLOCK = re.compile(r"(?:(?P<days>\d+)\s*days?,?\s*)?(?P<h>\d+):(?P<m>[0-5]?\d):(?P<s>[0-5]?\d(?:\.\d+)?)")


class ScheduleError(DeploytoolError):
    """A schedule item cannot be normalised (call check_schedule first to get every problem)."""


@record
class ScheduleProblem:
    """One problem in a schedule item. `key` is the item's key it is about (e.g. "cron", "timezone")."""

    key: str
    message: str
    hint: str | None = None
    severity: Literal["error", "warning"] = "error"


@record
class Schedule:
    """A checked schedule item in normal form, ready to store and to compute run times from.

    `expression` holds the cron or rrule text; `seconds` the interval. `anchor_date` is aware (or None: then
    intervals count from DEFAULT_ANCHOR in `timezone`).
    """

    kind: Kind
    expression: str | None = None
    seconds: float | None = None
    timezone: str = "UTC"
    anchor_date: datetime | None = None
    day_or: bool = True
    active: bool = True
    parameters: dict[str, Any] = field(default_factory=dict)
    slug: str | None = None


def _is_template(value: Any) -> bool:
    # Placeholders are resolved later (step outputs, $ENV); their value cannot be checked now.
    return isinstance(value, str) and "{{" in value


def _present(item: Mapping[str, Any], key: str) -> bool:
    # An explicit null (common in files written by `prefect deploy`) is the same as an absent key.
    return item.get(key) is not None


def check_schedule(item: Mapping[str, Any]) -> list[ScheduleProblem]:
    """Return every semantic problem of one schedule item (an empty list when it is fine)."""
    problems: list[ScheduleProblem] = []
    kinds = [k for k in KINDS if _present(item, k)]
    if not kinds:
        problems.append(
            ScheduleProblem("cron", "a schedule needs one of cron, interval or rrule", "e.g. cron: '0 9 * * *'")
        )
    elif len(kinds) > 1:
        for extra in kinds[1:]:
            problems.append(
                ScheduleProblem(
                    extra,
                    f"a schedule has exactly one of cron, interval or rrule, this one has {' and '.join(kinds)}",
                    "split it into one schedule item per kind",
                )
            )
    kind = kinds[0] if len(kinds) == 1 else None

    if _present(item, "cron") and not _is_template(item["cron"]):
        problems.extend(cron_problems(item["cron"]))
    if _present(item, "interval") and not _is_template(item["interval"]):
        try:
            parse_interval(item["interval"])
        except ValueError as exc:
            problems.append(ScheduleProblem("interval", str(exc), f"give {INTERVAL_EXAMPLE}"))
    if _present(item, "rrule") and not _is_template(item["rrule"]):
        problems.extend(ScheduleProblem("rrule", msg, hint) for msg, hint in rrule_problems(item["rrule"]))
    if _present(item, "timezone") and not _is_template(item["timezone"]):
        tz_problem = timezone_problem(item["timezone"])
        if tz_problem:
            problems.append(ScheduleProblem("timezone", *tz_problem))
    if _present(item, "anchor_date") and not _is_template(item["anchor_date"]):
        if kind in ("cron", "rrule"):
            problems.append(
                ScheduleProblem(
                    "anchor_date",
                    f"anchor_date only applies to interval schedules, this is a {kind} schedule",
                    "remove it" + ("; put a DTSTART line in the rrule instead" if kind == "rrule" else ""),
                )
            )
        try:
            _parse_datetime(item["anchor_date"])
        except ValueError as exc:
            problems.append(ScheduleProblem("anchor_date", str(exc), "e.g. 2024-01-01T09:00:00"))
    if _present(item, "day_or") and kind in ("interval", "rrule"):
        problems.append(ScheduleProblem("day_or", f"day_or only applies to cron schedules, this is a {kind} schedule"))
    return problems


def cron_problems(expression: Any) -> list[ScheduleProblem]:
    """Problems of a cron expression: syntax, unsupported forms, dates that never occur."""
    if not isinstance(expression, str) or not expression.strip():
        return [ScheduleProblem("cron", "a cron expression must be a non-empty string", CRON_EXAMPLE)]
    if _RANDOM_OR_HASHED.search(expression):
        return [
            ScheduleProblem(
                "cron",
                f"random (R) and hashed (H) cron fields are not supported: {expression!r}",
                "write the minute or hour you want, " + CRON_EXAMPLE,
            )
        ]
    fields = expression.split()
    if not expression.startswith("@") and len(fields) not in (5, 6, 7):
        message = f"a cron expression has 5 fields, {expression!r} has {len(fields)}"
        return [ScheduleProblem("cron", message, CRON_EXAMPLE)]
    # croniter (with dateutil) and dateutil's rrule load only where a file has such a schedule (issue 17, item 4)
    from deploytool.config.cron import CroniterBadDateError, CroniterError, croniter

    try:
        croniter(expression, DEFAULT_ANCHOR).get_next(datetime)
    except CroniterBadDateError:
        message = f"cron expression {expression!r} never matches a date"
        return [ScheduleProblem("cron", message, "check the day-of-month and month fields")]
    except (CroniterError, ValueError, KeyError) as exc:
        message = f"invalid cron expression {expression!r}: {_cron_detail(fields, exc)}"
        return [ScheduleProblem("cron", message, CRON_EXAMPLE)]
    if len(fields) in (6, 7):
        # croniter reads a sixth field as SECONDS AT THE END; Quartz and Spring put seconds first, so the
        # same text means something else there. Valid, but worth a warning.
        return [
            ScheduleProblem(
                "cron",
                f"{len(fields)}-field cron {expression!r}: field 6 is read as seconds"
                + (" and field 7 as the year" if len(fields) == 7 else ""),
                "seconds come last here, not first as in Quartz; use 5 fields unless you mean it",
                severity="warning",
            )
        ]
    return []


def _cron_detail(fields: list[str], exc: Exception) -> str:
    # croniter names the whole expression; try each field alone to say which one is wrong.
    from deploytool.config.cron import CroniterError, croniter

    for index, value in enumerate(fields):
        probe = ["*"] * len(fields)
        probe[index] = value
        try:
            croniter(" ".join(probe), DEFAULT_ANCHOR)
        except (CroniterError, ValueError, KeyError):
            return f"field {index + 1} ({CRON_FIELDS[index]}) {value!r} is not valid"
    return str(exc)


def rrule_problems(text: Any) -> list[tuple[str, str]]:
    """Problems (message, hint) of an RFC 5545 recurrence rule."""
    if not isinstance(text, str) or not text.strip():
        return [("an rrule must be a non-empty string", RRULE_EXAMPLE)]
    if re.search(r"(?:^|;|:)INTERVAL=0+(?:;|$|\s)", text, re.IGNORECASE | re.MULTILINE):
        # dateutil accepts INTERVAL=0 and then loops forever when asked for a date.
        return [("INTERVAL must be at least 1", RRULE_EXAMPLE)]
    from dateutil.rrule import rrulestr

    try:
        rule = rrulestr(text, dtstart=DEFAULT_ANCHOR)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        detail = str(exc)
        if "not enough values to unpack" in detail:
            detail = "expected NAME=VALUE parts separated by ';'"
        return [(f"invalid rrule {text!r}: {detail}", RRULE_EXAMPLE)]
    return _count_walk_problem(rule, text)


_STEP_SECONDS = {4: 3600, 5: 60, 6: 1}  # dateutil's HOURLY, MINUTELY, SECONDLY
_MAX_COUNT_WALK = 200_000


def _count_walk_problem(rule: Any, text: str) -> list[tuple[str, str]]:
    """A COUNT rule with BY parts must be walked from its DTSTART, occurrence by occurrence (COUNT counts from
    there). At second, minute or hour frequency that can take minutes and would stall every scheduler (and the
    worker running it): refuse the rule when the walk from DTSTART to now is that long."""
    freq, count = getattr(rule, "_freq", None), getattr(rule, "_count", None)
    # A small COUNT ends the walk early, whatever the frequency.
    if count is None or count <= _MAX_COUNT_WALK or freq not in _STEP_SECONDS:
        return []
    if not re.search(r"\bBY[A-Z]+=", text.upper()):
        return []  # without BY parts the scheduler skips ahead in whole periods
    start = getattr(rule, "_dtstart", DEFAULT_ANCHOR)
    now = datetime.now(start.tzinfo) if start.tzinfo else datetime.now()
    steps = (now - start).total_seconds() / (_STEP_SECONDS[freq] * max(1, getattr(rule, "_interval", 1)))
    if steps <= _MAX_COUNT_WALK:
        return []
    return [
        (
            f"rrule {text!r} counts its COUNT from {start:%Y-%m-%d %H:%M} at this frequency: about {steps:,.0f} "
            "steps to evaluate, too slow for the scheduler",
            "use UNTIL instead of COUNT, or give a DTSTART close to the first run",
        )
    ]


def timezone_problem(name: Any) -> tuple[str, str | None] | None:
    """A (message, hint) when `name` is not an IANA timezone, with a did-you-mean; None when it is fine."""
    if not isinstance(name, str) or not name:
        return ("a timezone must be an IANA name", "e.g. Europe/Berlin or UTC")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # with the first schedule: a file without any needs none

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    else:
        return None
    zones = _zones()
    by_lower = {z.lower(): z for z in zones}
    close = [by_lower[name.lower()]] if name.lower() in by_lower else []
    close = close or close_matches(name, zones, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else "use an IANA name such as Europe/Berlin or UTC"
    return (f"unknown timezone {name!r}", hint)


@cache
def _zones() -> list[str]:
    # Reading the tz database directory is slow-ish; only done when a name is wrong, and only once.
    from zoneinfo import available_timezones

    return sorted(available_timezones())


def parse_interval(value: Any) -> float:
    """Return an interval in seconds from a number, an ISO-8601 duration or HH:MM:SS. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"an interval must be a duration, not {value!r}")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_interval_text(value.strip())
    else:
        raise ValueError(f"an interval must be a number of seconds or a duration string, not {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"an interval must be greater than 0 seconds, got {value!r}")
    return seconds


def _parse_interval_text(text: str) -> float:
    try:
        return float(text)  # "3600", e.g. from an environment placeholder
    except ValueError:
        pass
    match = _ISO_DURATION.fullmatch(text)
    if match and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
        if "years" in parts or "months" in parts:
            raise ValueError(
                f"interval {text!r} uses years or months, which have no fixed length "
                "(use a cron or rrule schedule for monthly runs)"
            )
        return (
            parts.get("weeks", 0) * 604800
            + parts.get("days", 0) * 86400
            + parts.get("hours", 0) * 3600
            + parts.get("minutes", 0) * 60
            + parts.get("seconds", 0)
        )
    match = _CLOCK.fullmatch(text)
    if match:
        days = int(match["days"] or 0)
        return days * 86400 + int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])
    raise ValueError(f"interval {text!r} is not a number of seconds, an ISO-8601 duration or HH:MM:SS")


def _parse_datetime(value: Any) -> datetime:
    # YAML may already have turned an unquoted timestamp into a datetime (or a date).
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not an ISO-8601 date and time")


def normalise_schedule(item: Mapping[str, Any]) -> Schedule:
    """Turn a checked schedule item into a Schedule. Raises ScheduleError if check_schedule finds errors."""
    errors = [p for p in check_schedule(item) if p.severity == "error"]
    templated = [k for k in (*KINDS, "timezone", "anchor_date") if _is_template(item.get(k))]
    if errors or templated:
        first = errors[0] if errors else ScheduleProblem(templated[0], "placeholder is not resolved yet")
        raise ScheduleError(f"schedule {first.key}: {first.message}", first.hint)
    kind: Kind = next(k for k in KINDS if _present(item, k))
    anchor = _parse_datetime(item["anchor_date"]) if _present(item, "anchor_date") else None
    from zoneinfo import ZoneInfo

    tz_name = item.get("timezone")
    if tz_name is None and anchor is not None and isinstance(anchor.tzinfo, ZoneInfo):
        tz_name = anchor.tzinfo.key  # Prefect infers an interval's timezone from its anchor
    tz_name = tz_name or "UTC"
    if anchor is not None and anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=ZoneInfo(tz_name))  # a naive anchor is in the schedule's timezone
    return Schedule(
        kind=kind,
        expression=str(item[kind]).strip() if kind != "interval" else None,
        seconds=parse_interval(item["interval"]) if kind == "interval" else None,
        timezone=tz_name,
        anchor_date=anchor,
        day_or=bool(item.get("day_or", True) if item.get("day_or") is not None else True),
        active=bool(item["active"]) if item.get("active") is not None else True,
        parameters=dict(item.get("parameters") or {}),
        slug=item.get("slug"),
    )
