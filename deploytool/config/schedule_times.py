"""When a schedule fires: `next_times`, correct across daylight-saving changes (see docs/schedules.md)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from deploytool.config.schedules import DEFAULT_ANCHOR, Schedule

TYPE_CHECKING = False  # not typing's: `deployment ls` imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from dateutil.rrule import rrule


def next_times(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """The next `count` run times strictly after `after` (which must be aware), as aware UTC datetimes.

    UTC on purpose: datetimes sharing a ZoneInfo compare and subtract by wall clock, and PEP 495 makes a
    time in a repeated (fall back) hour unequal to every time in another zone, so local datetimes would
    make two runs an hour apart look equal. Convert with `.astimezone(ZoneInfo(schedule.timezone))` to show.

    Fewer are returned when the schedule ends (an rrule with COUNT/UNTIL, a cron that never matches).
    """
    if after.tzinfo is None:
        raise ValueError("next_times needs an aware datetime for 'after'")
    tz = ZoneInfo(schedule.timezone)
    if schedule.kind == "cron":
        candidates = _cron_times(schedule, after, tz)
    elif schedule.kind == "interval":
        candidates = _interval_times(schedule, after, tz)
    else:
        candidates = _rrule_times(schedule, after, tz)
    # Compare in UTC: aware datetimes sharing one tzinfo compare by wall clock, ignoring DST folds.
    after_utc = after.astimezone(UTC)
    result: list[datetime] = []
    for candidate in candidates:
        if len(result) >= count:
            break
        instant = candidate.astimezone(UTC)
        # Keep the sequence strictly increasing: DST shifts can map two wall times onto one instant.
        if instant > after_utc and (not result or instant > result[-1]):
            result.append(instant)
    return result


def _localise(wall: datetime, tz: ZoneInfo, *, sub_daily: bool) -> list[datetime]:
    """The instants a naive wall time stands for in `tz` (see the module docstring for DST rules)."""
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return [first]
    exists = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
    if exists:  # fall back: the wall time happens twice; fold=0 is the earlier one
        return [first, second] if sub_daily else [first]
    # spring forward: fold=0 reads the wall time with the offset before the gap, i.e. shifted forward
    return [] if sub_daily else [first]


def _cron_times(schedule: Schedule, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    expression = schedule.expression or ""
    fields = expression.split()
    hour = fields[1] if len(fields) >= 5 else ""
    sub_daily = expression.strip().lower() == "@hourly" or hour.startswith("*")
    # Start a little early: a repeated (fall back) hour means the local wall time of `after` is not unique.
    start = after.astimezone(tz).replace(tzinfo=None) - timedelta(hours=3)
    # croniter (with dateutil) and dateutil's rrule load with the first schedule of their kind (issue 17, item 4)
    from deploytool.config.cron import CroniterBadDateError, croniter

    iterator = croniter(expression, start, day_or=schedule.day_or)
    for _ in range(1_000_000):  # a bound, not a limit anyone reaches: next_times stops far earlier
        try:
            wall = iterator.get_next(datetime)
        except CroniterBadDateError:
            return
        yield from _localise(wall, tz, sub_daily=sub_daily)


def _interval_times(schedule: Schedule, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    seconds = schedule.seconds or 0.0
    anchor = schedule.anchor_date or DEFAULT_ANCHOR.replace(tzinfo=tz)
    days, rest = divmod(seconds, 86400)
    elapsed = after.astimezone(UTC) - anchor.astimezone(UTC)  # in UTC: a same-zone difference is wall time
    n = math.floor(elapsed.total_seconds() / seconds) - 1
    if days == 0:
        # Sub-daily intervals are absolute: count in UTC, where every hour is an hour.
        anchor_utc = anchor.astimezone(UTC)
        while True:
            yield anchor_utc + timedelta(seconds=n * seconds)
            n += 1
    wall = anchor.astimezone(tz).replace(tzinfo=None)
    while True:
        # Whole days follow the wall clock (a daily run keeps its local time); the rest is absolute.
        (local,) = _localise(wall + timedelta(days=n * days), tz, sub_daily=False)
        yield local.astimezone(UTC) + timedelta(seconds=n * rest)
        n += 1


def _rrule_times(schedule: Schedule, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
    from dateutil.rrule import rrule, rruleset, rrulestr

    start_wall = DEFAULT_ANCHOR
    rule = rrulestr(schedule.expression or "", dtstart=start_wall)
    dtstart: datetime | None = getattr(rule, "_dtstart", None)
    aware = dtstart is not None and dtstart.tzinfo is not None
    begin = after if aware else after.astimezone(tz).replace(tzinfo=None) - timedelta(hours=3)
    if isinstance(rule, rrule) and dtstart is not None:
        forwarded = _fast_forward(rule, dtstart, begin)
        if forwarded is None:
            return  # a COUNT rule whose occurrences all lie before `begin`
        rule = forwarded
    assert isinstance(rule, rrule | rruleset)
    for occurrence in rule.xafter(begin, inc=True):
        if aware:
            yield occurrence
        else:
            yield from _localise(occurrence, tz, sub_daily=False)


_PERIODS = {3: 86400, 4: 3600, 5: 60, 6: 1}  # dateutil's DAILY, HOURLY, MINUTELY, SECONDLY in seconds


def _fast_forward(rule: rrule, dtstart: datetime, begin: datetime) -> rrule | None:
    """Move DTSTART forward by whole periods, so high-frequency rules are not iterated from 2020.

    dateutil always walks a rule from its DTSTART; a rule repeating every 30 s would take a minute to reach
    today. Moving DTSTART by a whole number of periods keeps every later occurrence (and the fields that
    default from DTSTART) the same. A COUNT counts from the start: without BY* parts a rule has exactly one
    occurrence per period, so the COUNT goes down by the periods skipped (None: none is left); with BY* parts
    the rule is left alone.
    """
    freq: int = getattr(rule, "_freq", 0)
    interval: int = getattr(rule, "_interval", 1)
    count: int | None = getattr(rule, "_count", None)
    if freq not in _PERIODS or (count is not None and getattr(rule, "_original_rule", None) != {}):
        return rule
    step = _PERIODS[freq] * interval
    # Naive wall times, or aware ones; a wall-clock difference may be off by a DST shift, hence the margin.
    periods = math.floor((begin - dtstart).total_seconds() / step) - 2
    if periods <= 0:
        return rule
    start = dtstart + timedelta(seconds=periods * step)
    if count is None:
        return rule.replace(dtstart=start)
    if periods >= count:
        return None
    return rule.replace(dtstart=start, count=count - periods)
