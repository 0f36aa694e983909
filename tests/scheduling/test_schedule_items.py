"""What identifies a schedule and its runs, which schedules are live, and the schedule items `deploy --cron/
--interval/--rrule/--timezone/--anchor-date` make (deploytool.scheduling.identity)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from deploytool.config.schedules import normalise_schedule
from deploytool.errors import DeploytoolError
from deploytool.models import Deployment
from deploytool.scheduling import (
    key_schedule,
    live_schedules,
    next_run_time,
    run_key,
    schedule_id,
    schedule_items,
)
from deploytool.scheduling.identity import describe
from deploytool.store import AUTO_PREFIX

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _deployment(*schedules: dict[str, object], paused: bool = False, **fields: object) -> Deployment:
    return Deployment("etl", "d", "f.py:etl", "local", schedules=list(schedules), paused=paused, **fields)  # type: ignore[arg-type]


# --- a schedule's identity ---------------------------------------------------------------------------------


def test_the_same_schedule_written_differently_has_one_identity() -> None:
    hourly = schedule_id(normalise_schedule({"interval": "PT1H"}))
    assert schedule_id(normalise_schedule({"interval": 3600})) == hourly
    assert schedule_id(normalise_schedule({"interval": 3600, "timezone": "UTC"})) == hourly
    assert len(hourly) == 16 and int(hourly, 16) >= 0


@pytest.mark.parametrize(
    ("base", "changed"),
    [
        ({"interval": 3600}, {"interval": 7200}),
        ({"cron": "0 * * * *"}, {"cron": "5 * * * *"}),
        ({"cron": "0 9 * * *"}, {"cron": "0 9 * * *", "timezone": "Europe/Berlin"}),
        ({"interval": 3600}, {"interval": 3600, "anchor_date": "2030-01-01T00:30:00Z"}),
        ({"cron": "0 9 1 * 1"}, {"cron": "0 9 1 * 1", "day_or": False}),
        ({"cron": "0 9 * * *"}, {"cron": "0 9 * * *", "parameters": {"n": 1}}),
        ({"cron": "0 9 * * *"}, {"rrule": "FREQ=DAILY;BYHOUR=9"}),
    ],
)
def test_what_moves_the_times_or_the_parameters_makes_another_schedule(
    base: dict[str, object], changed: dict[str, object]
) -> None:
    assert schedule_id(normalise_schedule(base)) != schedule_id(normalise_schedule(changed))


@pytest.mark.parametrize(
    ("item", "identity"),
    [
        ({"interval": 3600}, "ee7073a0ebcd5174"),
        ({"cron": "0 9 1-7 * 1", "day_or": False, "timezone": "Europe/Berlin"}, "584592158793ebbe"),
        ({"interval": 900, "anchor_date": "2030-01-01T00:15:00", "timezone": "Europe/Berlin"}, "4d2f0de954cafd36"),
        ({"rrule": "FREQ=DAILY;BYHOUR=9", "parameters": {"b": 2, "a": [1, "x"]}}, "a5d17f52478501c4"),
    ],
)
def test_a_schedule_s_identity_is_the_same_in_every_version_and_on_every_machine(
    item: dict[str, object], identity: str, other_local_zone: None
) -> None:
    """The identity is inside the key of every run the store holds: were it to change with an upgrade (or with the
    machine's time zone), a pass would take every waiting run for one of a gone schedule, delete it and forget the
    schedule's mark, and the catch-up policy would see no gap."""
    assert schedule_id(normalise_schedule(item)) == identity


def test_the_order_of_a_schedule_s_parameters_does_not_change_its_identity() -> None:
    one = normalise_schedule({"cron": "0 9 * * *", "parameters": {"a": 1, "b": {"y": 2, "x": 3}}})
    other = normalise_schedule({"cron": "0 9 * * *", "parameters": {"b": {"x": 3, "y": 2}, "a": 1}})
    assert schedule_id(one) == schedule_id(other)


def test_a_date_among_a_schedule_s_parameters_has_the_identity_of_its_text() -> None:
    """YAML reads `day: 2030-01-01` as a date; the store gives it back as text: the schedule is the same one."""
    as_read = normalise_schedule({"cron": "0 9 * * *", "parameters": {"day": date(2030, 1, 1)}})
    as_stored = normalise_schedule({"cron": "0 9 * * *", "parameters": {"day": "2030-01-01"}})
    assert schedule_id(as_read) == schedule_id(as_stored) == "e8f74626b6523206"


def test_day_or_does_not_change_an_interval_s_identity() -> None:
    plain = normalise_schedule({"interval": 60})
    assert schedule_id(replace(plain, day_or=False)) == schedule_id(plain)


def test_a_run_key_holds_the_deployment_the_schedule_and_the_utc_time() -> None:
    berlin = datetime(2030, 1, 1, 13, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    key = run_key("dep1", "abc", berlin)
    assert key == f"{AUTO_PREFIX}dep1:abc:2030-01-01T13:00:00.000000+00:00"
    assert key_schedule(key) == "abc"


def test_a_run_key_does_not_depend_on_the_machine_s_time_zone(other_local_zone: None) -> None:
    """Workers in several zones schedule the same deployment: each slot must get one key, so it exists once."""
    assert run_key("dep1", "abc", datetime(2030, 7, 1, 9, 30, tzinfo=UTC)) == (
        f"{AUTO_PREFIX}dep1:abc:2030-07-01T09:30:00.000000+00:00"
    )


@pytest.mark.parametrize("key", [None, "", "my-own-key", f"{AUTO_PREFIX}only-two:parts"])
def test_a_key_not_made_by_the_scheduler_names_no_schedule(key: str | None) -> None:
    assert key_schedule(key) is None


# --- live schedules and the next run -----------------------------------------------------------------------


def test_live_schedules_skip_inactive_duplicate_and_broken_ones(caplog: pytest.LogCaptureFixture) -> None:
    deployment = _deployment(
        {"cron": "0 9 * * *"},
        {"cron": "0 9 * * *", "timezone": "UTC"},  # the same schedule again
        {"interval": 3600, "active": False},
        {"cron": "not a cron"},
        {"rrule": "FREQ=DAILY;BYHOUR=6"},
    )
    with caplog.at_level(logging.WARNING, logger="deploytool.scheduler"):
        live = live_schedules(deployment)
    assert [(s.schedule.kind, s.item) for s in live] == [
        ("cron", {"cron": "0 9 * * *"}),
        ("rrule", {"rrule": "FREQ=DAILY;BYHOUR=6"}),
    ]
    assert [s.id for s in live] == [schedule_id(s.schedule) for s in live]
    assert [r.getMessage() for r in caplog.records] == [
        "deployment etl/d: schedule {'cron': 'not a cron'} is skipped:"
        " schedule cron: a cron expression has 5 fields, 'not a cron' has 3"
        " (e.g. '30 2 * * 1-5' = 02:30 on weekdays (minute hour day-of-month month day-of-week))"
    ]


def test_a_paused_deployment_has_no_live_schedule_and_no_next_run() -> None:
    deployment = _deployment({"interval": 60}, paused=True)
    assert live_schedules(deployment) == []
    assert next_run_time(deployment, NOW) is None
    assert next_run_time(_deployment(), NOW) is None


def test_the_next_run_is_the_earliest_of_all_schedules_after_now() -> None:
    deployment = _deployment({"cron": "0 13 * * *"}, {"cron": "30 12 * * *"}, {"cron": "15 12 * * *", "active": False})
    assert next_run_time(deployment, NOW) == NOW + timedelta(minutes=30)


def test_a_schedule_s_parameters_go_over_the_deployment_s() -> None:
    deployment = _deployment({"cron": "0 9 * * *", "parameters": {"b": 3, "c": 4}}, parameters={"a": 1, "b": 2})
    (live,) = live_schedules(deployment)
    assert live.run_parameters(deployment) == {"a": 1, "b": 3, "c": 4}


@pytest.mark.parametrize(
    ("item", "text"),
    [
        ({"cron": "0 9 * * *"}, "cron 0 9 * * *"),
        ({"cron": "0 9 * * *", "timezone": "Europe/Berlin"}, "cron 0 9 * * * (Europe/Berlin)"),
        ({"interval": 3600}, "interval 3600s"),
        ({"interval": 1.5}, "interval 1.5s"),
        ({"rrule": "FREQ=DAILY"}, "rrule FREQ=DAILY"),
    ],
)
def test_a_schedule_is_described_in_a_few_words(item: dict[str, object], text: str) -> None:
    assert describe(normalise_schedule(item)) == text
    assert live_schedules(_deployment(item))[0].describe() == text


# --- deploy --cron/--interval/--rrule ------------------------------------------------------------------------


def test_no_schedule_option_gives_none() -> None:
    assert schedule_items() is None


def test_each_option_makes_an_item_with_the_timezone() -> None:
    items = schedule_items(["0 9 * * *"], ["3600", "1.5", "PT2H"], ["FREQ=DAILY"], timezone="Europe/Berlin")
    assert items == [
        {"cron": "0 9 * * *", "timezone": "Europe/Berlin"},
        {"interval": 3600, "timezone": "Europe/Berlin"},
        {"interval": 1.5, "timezone": "Europe/Berlin"},
        {"interval": "PT2H", "timezone": "Europe/Berlin"},
        {"rrule": "FREQ=DAILY", "timezone": "Europe/Berlin"},
    ]
    assert isinstance(items[1]["interval"], int)


def test_an_anchor_date_goes_with_an_interval() -> None:
    assert schedule_items(intervals=["60"], anchor_date="2030-01-01T00:00:00Z") == [
        {"interval": 60, "anchor_date": "2030-01-01T00:00:00Z"}
    ]


def test_a_timezone_or_anchor_without_a_schedule_is_an_error_that_says_so() -> None:
    for kwargs in ({"timezone": "UTC"}, {"anchor_date": "2030-01-01T00:00:00Z"}):
        with pytest.raises(DeploytoolError) as caught:
            schedule_items(**kwargs)
        assert caught.value.message == (
            "--timezone and --anchor-date apply to --cron, --interval or --rrule, and none was given"
        )
        assert caught.value.hint == "e.g. --cron '0 9 * * *' --timezone Europe/Berlin"


def test_every_problem_of_the_options_is_said_once_naming_its_option() -> None:
    with pytest.raises(DeploytoolError) as caught:
        schedule_items(
            ["61 * * * *", "61 * * * *"],
            ["-5"],
            ["FREQ=DAILY"],
            timezone="Mars/Olympus",
            anchor_date="2030-01-01T00:00:00Z",
        )
    message = caught.value.message
    parts = message.split("; ")
    assert "--anchor-date applies to --interval only, not to --cron" in parts
    assert "--anchor-date applies to --interval only, not to --rrule" in parts
    assert parts.count("--anchor-date applies to --interval only, not to --cron") == 1
    assert any(p.startswith("--interval: ") for p in parts)
    assert any(p.startswith("--timezone: ") for p in parts), message
    assert caught.value.hint == "see docs/schedules.md"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"crons": ["61 * * * *"]},
            "--cron: invalid cron expression '61 * * * *': field 1 (minute) '61' is not valid"
            " (e.g. '30 2 * * 1-5' = 02:30 on weekdays (minute hour day-of-month month day-of-week))",
        ),
        (
            {"intervals": ["-5"]},
            "--interval: an interval must be greater than 0 seconds, got -5"
            " (give seconds (3600), an ISO-8601 duration (PT10M, P1D) or HH:MM:SS (01:30:00))",
        ),
        (
            {"rrules": ["FREQ=NOPE"]},
            "--rrule: invalid rrule 'FREQ=NOPE': invalid 'FREQ': NOPE"
            " (e.g. 'FREQ=DAILY;BYHOUR=8;BYMINUTE=0', optionally after a 'DTSTART:20240101T080000' line)",
        ),
        (
            {"crons": ["0 * * * *"], "timezone": "europe/berlin"},
            "--timezone: unknown timezone 'europe/berlin' (did you mean Europe/Berlin?)",
        ),
        (
            {"intervals": ["60"], "anchor_date": "nope"},
            "--anchor-date: 'nope' is not an ISO-8601 date and time (e.g. 2024-01-01T09:00:00)",
        ),
    ],
)
def test_a_bad_option_is_named_with_what_is_wrong_and_how_to_write_it(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DeploytoolError) as caught:
        schedule_items(**kwargs)  # type: ignore[arg-type]
    assert caught.value.message == message
    assert caught.value.hint == "see docs/schedules.md"
