"""Which schedules of a deployment are live, what identifies each one, and the key of each of its runs.

A schedule's identity is a hash of its normalised definition (kind, expression or interval, timezone, anchor,
day_or, parameters): the same schedule written differently (`PT1H` or `3600`) is the same schedule, and any
change that moves its times or its runs' parameters makes it a new one. A run's idempotency key is made of
(deployment id, schedule identity, scheduled time): whoever creates a slot, and however often, it exists once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from deploytool.config.schedule_times import next_times
from deploytool.config.schedules import Schedule, ScheduleError, check_schedule, normalise_schedule
from deploytool.errors import DeploytoolError
from deploytool.models import Deployment
from deploytool.records import record
from deploytool.store import AUTO_PREFIX

TYPE_CHECKING = False  # not typing's: `deployment ls` imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import Any

CATCH_UP_POLICIES = ("all", "latest", "none")
DEFAULT_CATCH_UP = "latest"


@record
class LiveSchedule:
    """One active schedule of a deployment: its identity, its normal form and the item as stored."""

    id: str
    schedule: Schedule
    item: Mapping[str, Any]

    def run_parameters(self, deployment: Deployment) -> dict[str, Any]:
        """The deployment's parameters with the schedule's own merged over them (key by key, top level)."""
        return {**deployment.parameters, **self.schedule.parameters}

    def describe(self) -> str:
        return describe(self.schedule)


def schedule_id(schedule: Schedule) -> str:
    """The identity of a normalised schedule: 16 hex characters of a hash of what decides its runs."""
    definition = {
        "kind": schedule.kind,
        "expression": schedule.expression,
        "seconds": schedule.seconds,
        "timezone": schedule.timezone,
        "anchor_date": schedule.anchor_date.astimezone(UTC).isoformat() if schedule.anchor_date else None,
        "day_or": schedule.day_or if schedule.kind == "cron" else None,
        "parameters": schedule.parameters,
    }
    text = json.dumps(definition, sort_keys=True, default=str, separators=(",", ":"))
    import hashlib  # the scheduler's and inspect's: `deployment ls` needs no identities (issue 17, item 4)

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_key(deployment_id: str, sid: str, when: datetime) -> str:
    """The idempotency key of the run of schedule `sid` at `when` (an aware time)."""
    return f"{AUTO_PREFIX}{deployment_id}:{sid}:{when.astimezone(UTC).isoformat(timespec='microseconds')}"


def key_schedule(key: str | None) -> str | None:
    """The schedule identity inside an auto-scheduled run's key (None for any other key)."""
    if not key or not key.startswith(AUTO_PREFIX):
        return None
    parts = key[len(AUTO_PREFIX) :].split(":", 2)
    return parts[1] if len(parts) == 3 else None


def live_schedules(deployment: Deployment) -> list[LiveSchedule]:
    """The deployment's active schedules (none while it is paused), each once."""
    found: dict[str, LiveSchedule] = {}
    for item, schedule in _active_schedules(deployment):
        sid = schedule_id(schedule)
        found.setdefault(sid, LiveSchedule(sid, schedule, item))
    return list(found.values())


def _active_schedules(deployment: Deployment) -> Iterator[tuple[Mapping[str, Any], Schedule]]:
    """Each active schedule of the deployment, as stored and normalised (none while it is paused)."""
    if deployment.paused:
        return
    for item in deployment.schedules:
        try:
            schedule = normalise_schedule(item)
        except (ScheduleError, ValueError, TypeError) as exc:
            # deploy validated it; a store edited by hand, or an older deploytool, could still hold one
            import logging  # only for a schedule to skip: listing deployments loads no logging

            logging.getLogger("deploytool.scheduler").warning(
                "deployment %s: schedule %s is skipped: %s", deployment.full_name, dict(item), exc
            )
            continue
        if schedule.active:
            yield item, schedule


def next_run_time(deployment: Deployment, now: datetime) -> datetime | None:
    """When the deployment's schedules next fire after `now` (None: paused, or no active schedule).

    No schedule identities (a hash each) are needed: a schedule written twice fires at the same times."""
    times = [t for _, schedule in _active_schedules(deployment) for t in next_times(schedule, now, 1)]
    return min(times) if times else None


def describe(schedule: Schedule) -> str:
    """A short description: `cron 0 9 * * * (Europe/Berlin)`, `interval 3600s`, `rrule FREQ=DAILY`."""
    if schedule.kind == "interval":
        text = f"interval {schedule.seconds:g}s"
    else:
        text = f"{schedule.kind} {schedule.expression}"
    return text + (f" ({schedule.timezone})" if schedule.timezone != "UTC" else "")


def schedule_items(
    crons: Iterable[str] = (),
    intervals: Iterable[str] = (),
    rrules: Iterable[str] = (),
    timezone: str | None = None,
    anchor_date: str | None = None,
) -> list[dict[str, Any]] | None:
    """Schedule items from `deploy --cron/--interval/--rrule/--timezone/--anchor-date`; None when none given.

    Every problem is reported at once, in a DeploytoolError naming the option.
    """
    items: list[tuple[str, dict[str, Any]]] = []
    items += [("--cron", {"cron": c}) for c in crons]
    items += [("--interval", {"interval": _number_or_text(i)}) for i in intervals]
    items += [("--rrule", {"rrule": r}) for r in rrules]
    if not items:
        if timezone is not None or anchor_date is not None:
            raise DeploytoolError(
                "--timezone and --anchor-date apply to --cron, --interval or --rrule, and none was given",
                hint="e.g. --cron '0 9 * * *' --timezone Europe/Berlin",
            )
        return None
    problems: list[str] = []
    result = []
    for option, item in items:
        if timezone is not None:
            item["timezone"] = timezone
        if anchor_date is not None:
            if option != "--interval":
                problems.append(f"--anchor-date applies to --interval only, not to {option}")
                continue
            item["anchor_date"] = anchor_date
        for problem in check_schedule(item):
            if problem.severity == "error":
                name = option if problem.key in ("cron", "interval", "rrule") else f"--{problem.key.replace('_', '-')}"
                problems.append(f"{name}: {problem.message}" + (f" ({problem.hint})" if problem.hint else ""))
        result.append(item)
    if problems:
        raise DeploytoolError("; ".join(dict.fromkeys(problems)), hint="see docs/schedules.md")
    return result


def _number_or_text(value: str) -> Any:
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() else number
