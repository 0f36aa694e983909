"""Schedule items: semantic checks, normalisation and run times across DST changes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as dateutil_rrule

from deploytool.config.schedule_times import next_times
from deploytool.config.schedules import (
    Schedule,
    ScheduleError,
    check_schedule,
    normalise_schedule,
    parse_interval,
)

BERLIN = ZoneInfo("Europe/Berlin")


def keys(item: dict[str, object]) -> list[str]:
    return [p.key for p in check_schedule(item) if p.severity == "error"]


def messages(item: dict[str, object]) -> str:
    return " | ".join(f"{p.message} ({p.hint})" for p in check_schedule(item))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- cron ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cron", ["0 9 * * *", "*/15 * * * *", "0 8 * * 1-5", "0 0 * jan,feb mon", "0,30 * * * *", "@daily", "0 0 L * *"]
)
def test_good_cron_has_no_problem(cron: str) -> None:
    assert check_schedule({"cron": cron, "day_or": False}) == []


@pytest.mark.parametrize("cron", ["R * * * *", "H 2 * * *", "0 H(0-5) * * *", "h/5 * * * *", "0 0 * * r"])
def test_random_and_hashed_cron_forms_are_rejected(cron: str) -> None:
    assert keys({"cron": cron}) == ["cron"]
    assert "random (R) and hashed (H)" in messages({"cron": cron})


def test_day_and_month_names_are_not_mistaken_for_hashed_fields() -> None:
    assert check_schedule({"cron": "0 9 * mar thu"}) == []


@pytest.mark.parametrize(
    ("cron", "field"),
    [
        ("0 25 * * *", "field 2 (hour) '25'"),
        ("61 * * * *", "field 1 (minute) '61'"),
        ("0 0 0 * *", "field 3 (day of month) '0'"),
        ("0 0 * 13 *", "field 4 (month) '13'"),
        ("0 0 * * funday", "field 5 (day of week) 'funday'"),
        ("*/0 * * * *", "field 1 (minute) '*/0'"),
    ],
)
def test_bad_cron_names_the_bad_field(cron: str, field: str) -> None:
    assert keys({"cron": cron}) == ["cron"]
    text = messages({"cron": cron})
    assert field in text
    assert "e.g. '30 2 * * 1-5'" in text  # the hint shows a working example


def test_cron_with_wrong_number_of_fields() -> None:
    assert "has 5 fields, '0 9 *' has 3" in messages({"cron": "0 9 *"})


def test_cron_that_never_matches() -> None:
    assert "never matches" in messages({"cron": "0 0 30 2 *"})  # 30 February


def test_six_field_cron_is_a_warning_about_seconds() -> None:
    [problem] = check_schedule({"cron": "0 0 2 * * *"})
    assert problem.severity == "warning"
    assert "seconds" in problem.message


def test_placeholder_is_not_checked() -> None:
    assert check_schedule({"cron": "{{ $CRON }}", "timezone": "{{ tz.value }}"}) == []


# --- kinds, legacy keys ------------------------------------------------------------------------------------


def test_exactly_one_kind() -> None:
    assert keys({}) == ["cron"]
    assert keys({"cron": "0 9 * * *", "interval": 60}) == ["interval"]
    assert "exactly one of cron, interval or rrule" in messages({"cron": "0 9 * * *", "interval": 60})


def test_explicit_nulls_and_legacy_keys_are_accepted() -> None:
    item = {
        "cron": "0 */3 * * *",
        "timezone": None,
        "day_or": True,
        "active": True,
        "max_active_runs": None,
        "catchup": False,
        "parameters": {"x": 1},
        "slug": "every-3h",
    }
    assert check_schedule(item) == []


def test_keys_of_another_kind_are_problems() -> None:
    assert keys({"cron": "0 9 * * *", "anchor_date": "2024-01-01T00:00:00"}) == ["anchor_date"]
    assert keys({"interval": 60, "day_or": False}) == ["day_or"]


# --- interval ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (60, 60.0),
        (604800.0, 604800.0),
        (0.5, 0.5),
        ("3600", 3600.0),
        ("PT10M", 600.0),
        ("P1D", 86400.0),
        ("P1W", 604800.0),
        ("P1DT2H30M", 95400.0),
        ("PT1.5H", 5400.0),
        ("01:30:00", 5400.0),
        ("00:00:30.5", 30.5),
        ("1 day, 02:00:00", 93600.0),
        (timedelta(minutes=5), 300.0),
    ],
)
def test_interval_forms(value: object, seconds: float) -> None:
    assert parse_interval(value) == seconds
    assert check_schedule({"interval": value}) == []


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (0, "greater than 0"),
        (-5, "greater than 0"),
        ("PT0S", "greater than 0"),
        ("00:00:00", "greater than 0"),
        ("P1M", "no fixed length"),
        ("P1Y", "no fixed length"),
        ("ten minutes", "not a number of seconds"),
        ("PT", "not a number of seconds"),
        ("1:75:00", "not a number of seconds"),
        (True, "must be a duration"),
        ([60], "must be a number of seconds"),
    ],
)
def test_bad_intervals(value: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_interval(value)
    assert keys({"interval": value}) == ["interval"]
    assert "PT10M" in messages({"interval": value})  # the hint lists the accepted forms


# --- rrule -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=DAILY;BYHOUR=8;BYMINUTE=0",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "DTSTART:20240101T090000\nRRULE:FREQ=DAILY;COUNT=5",
    ],
)
def test_good_rrule(rrule: str) -> None:
    assert check_schedule({"rrule": rrule, "timezone": "America/New_York"}) == []


@pytest.mark.parametrize(
    ("rrule", "says"),
    [
        ("FREQ=DALY", "invalid 'FREQ': DALY"),
        ("FREQ=DAILY;BYHOUR=25", "hour must be in 0..23"),
        ("FREQ=WEEKLY;BYDAY=MO,XX", "invalid 'BYDAY'"),
        ("FOO=1", "unknown parameter 'FOO'"),
        ("every day", "expected NAME=VALUE parts"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be at least 1"),
        ("", "non-empty string"),
    ],
)
def test_bad_rrule_says_what_is_wrong(rrule: str, says: str) -> None:
    assert keys({"rrule": rrule}) == ["rrule"]
    assert says in messages({"rrule": rrule})


# --- timezone, anchor_date ---------------------------------------------------------------------------------


def test_timezone_typo_has_did_you_mean() -> None:
    [problem] = check_schedule({"cron": "0 9 * * *", "timezone": "America/New_Yrok"})
    assert problem.key == "timezone"
    assert problem.message == "unknown timezone 'America/New_Yrok'"
    assert problem.hint is not None and problem.hint.startswith("did you mean America/New_York")


def test_timezone_in_wrong_case_suggests_the_right_case() -> None:
    [problem] = check_schedule({"cron": "0 9 * * *", "timezone": "europe/berlin"})
    assert problem.hint == "did you mean Europe/Berlin?"


def test_unknown_timezone_without_a_close_match() -> None:
    [problem] = check_schedule({"cron": "0 9 * * *", "timezone": "Mars/Olympus_Mons_Base"})
    assert problem.hint is not None and "IANA" in problem.hint


def test_anchor_date_forms() -> None:
    assert check_schedule({"interval": 60, "anchor_date": "2025-11-02T18:40:57.347584+00:00"}) == []
    assert check_schedule({"interval": 60, "anchor_date": datetime(2024, 1, 1, 9)}) == []  # YAML-parsed
    assert keys({"interval": 60, "anchor_date": "next tuesday"}) == ["anchor_date"]


# --- normalise ---------------------------------------------------------------------------------------------


def test_normalise_interval_with_naive_anchor_in_the_schedules_timezone() -> None:
    schedule = normalise_schedule(
        {"interval": "PT1H", "anchor_date": "2024-01-01T09:00:00", "timezone": "Europe/Berlin", "active": False}
    )
    assert schedule == Schedule(
        kind="interval",
        seconds=3600.0,
        timezone="Europe/Berlin",
        anchor_date=datetime(2024, 1, 1, 9, tzinfo=BERLIN),
        active=False,
    )
    assert schedule.anchor_date is not None and schedule.anchor_date.astimezone(UTC) == utc(2024, 1, 1, 8)


def test_normalise_defaults() -> None:
    schedule = normalise_schedule({"cron": " 0 9 * * * ", "parameters": {"n": 1}, "timezone": None})
    assert (schedule.kind, schedule.expression, schedule.timezone) == ("cron", "0 9 * * *", "UTC")
    assert (schedule.day_or, schedule.active, schedule.parameters) == (True, True, {"n": 1})


def test_normalise_refuses_an_invalid_item() -> None:
    with pytest.raises(ScheduleError, match="unknown timezone"):
        normalise_schedule({"cron": "0 9 * * *", "timezone": "Nowhere/Land"})
    with pytest.raises(ScheduleError, match="placeholder"):
        normalise_schedule({"cron": "{{ $CRON }}"})


# --- next_times across DST -----------------------------------------------------------------------------------


def test_daily_cron_at_0230_in_berlin_across_the_march_change() -> None:
    # Berlin springs forward on Sunday 2024-03-31 at 02:00 CET (+01:00) -> 03:00 CEST (+02:00): 02:30 does not
    # exist that day. The run is shifted forward by the gap (03:30 CEST), as in Prefect, and not skipped.
    #   Mar 30 02:30 CET  = 01:30Z
    #   Mar 31 02:30 (gap) -> 03:30 CEST = 01:30Z
    #   Apr  1 02:30 CEST = 00:30Z
    #   Apr  2 02:30 CEST = 00:30Z
    schedule = normalise_schedule({"cron": "30 2 * * *", "timezone": "Europe/Berlin"})
    times = next_times(schedule, utc(2024, 3, 29, 12), 4)
    assert times == [
        utc(2024, 3, 30, 1, 30),
        utc(2024, 3, 31, 1, 30),
        utc(2024, 4, 1, 0, 30),
        utc(2024, 4, 2, 0, 30),
    ]
    assert [t.astimezone(BERLIN).strftime("%d %H:%M%z") for t in times] == [
        "30 02:30+0100",
        "31 03:30+0200",
        "01 02:30+0200",
        "02 02:30+0200",
    ]


def test_daily_cron_at_0230_in_berlin_across_the_october_change_runs_once() -> None:
    # On 2024-10-27 clocks go back 03:00 CEST -> 02:00 CET, so 02:30 happens twice (00:30Z and 01:30Z).
    # A fixed-time job runs once, at the first occurrence.
    schedule = normalise_schedule({"cron": "30 2 * * *", "timezone": "Europe/Berlin"})
    times = next_times(schedule, utc(2024, 10, 25, 12), 3)
    assert times == [
        utc(2024, 10, 26, 0, 30),  # 02:30 CEST
        utc(2024, 10, 27, 0, 30),  # 02:30 CEST, the first of the two
        utc(2024, 10, 28, 1, 30),  # 02:30 CET
    ]


def test_hourly_cron_follows_the_clock_through_both_changes() -> None:
    # A wildcard hour is a sub-daily job: in March the missing 02:00 is skipped (01:00 CET is 00:00Z, 03:00 CEST
    # is 01:00Z: one hour apart); in October the repeated 02:00 runs twice (00:00Z and 01:00Z).
    schedule = normalise_schedule({"cron": "0 * * * *", "timezone": "Europe/Berlin"})
    spring = next_times(schedule, utc(2024, 3, 30, 23, 30), 3)
    assert spring == [utc(2024, 3, 31, 0), utc(2024, 3, 31, 1), utc(2024, 3, 31, 2)]
    assert [t.astimezone(BERLIN).hour for t in spring] == [1, 3, 4]
    autumn = next_times(schedule, utc(2024, 10, 26, 23, 30), 3)
    assert autumn == [utc(2024, 10, 27, 0), utc(2024, 10, 27, 1), utc(2024, 10, 27, 2)]
    assert [t.astimezone(BERLIN).hour for t in autumn] == [2, 2, 3]


def test_cron_day_or_false_needs_both_day_fields() -> None:
    # "the 1st of the month AND a Monday": 2024-04-01 is the first Monday-the-1st after 2024-01-02.
    schedule = normalise_schedule({"cron": "0 0 1 * mon", "day_or": False})
    assert next_times(schedule, utc(2024, 1, 2), 1) == [utc(2024, 4, 1)]
    either = normalise_schedule({"cron": "0 0 1 * mon"})
    assert next_times(either, utc(2024, 1, 2), 1) == [utc(2024, 1, 8)]  # the next Monday


def test_one_hour_interval_is_absolute_across_the_march_change() -> None:
    # Sub-daily intervals count real time: every hour after the anchor, whatever the clock shows. The anchor
    # 2024-03-30 22:00 CET is 21:00Z, so runs fall on whole UTC hours. After 23:30Z they are 00:00Z (01:00 CET),
    # 01:00Z (03:00 CEST: the clock jumped at 01:00Z) and 02:00Z (04:00 CEST): one hour apart each time.
    schedule = normalise_schedule({"interval": 3600, "anchor_date": "2024-03-30T22:00:00", "timezone": "Europe/Berlin"})
    times = next_times(schedule, utc(2024, 3, 30, 23, 30), 3)
    assert times == [utc(2024, 3, 31, 0), utc(2024, 3, 31, 1), utc(2024, 3, 31, 2)]
    assert [t.astimezone(BERLIN).hour for t in times] == [1, 3, 4]
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(times))


def test_one_hour_interval_runs_twice_in_the_repeated_october_hour() -> None:
    schedule = normalise_schedule({"interval": "PT1H", "timezone": "Europe/Berlin"})  # default anchor
    times = next_times(schedule, utc(2024, 10, 26, 23, 30), 3)
    assert times == [utc(2024, 10, 27, 0), utc(2024, 10, 27, 1), utc(2024, 10, 27, 2)]
    assert [t.astimezone(BERLIN).strftime("%H:%M%z") for t in times] == ["02:00+0200", "02:00+0100", "03:00+0100"]


def test_daily_interval_keeps_its_local_time_across_dst() -> None:
    # Whole days follow the wall clock: 09:00 Berlin every day, i.e. 08:00Z in winter and 07:00Z in summer.
    schedule = normalise_schedule(
        {"interval": "P1D", "anchor_date": "2024-01-01T09:00:00", "timezone": "Europe/Berlin"}
    )
    times = next_times(schedule, utc(2024, 3, 29, 12), 3)
    assert times == [utc(2024, 3, 30, 8), utc(2024, 3, 31, 7), utc(2024, 4, 1, 7)]


def test_interval_counts_from_the_anchor_not_from_after() -> None:
    schedule = normalise_schedule({"interval": 600, "anchor_date": "2024-01-01T00:07:00Z"})
    assert next_times(schedule, utc(2024, 5, 5, 10, 0), 2) == [utc(2024, 5, 5, 10, 7), utc(2024, 5, 5, 10, 17)]
    # exactly on a run time: strictly after
    assert next_times(schedule, utc(2024, 5, 5, 10, 7), 1) == [utc(2024, 5, 5, 10, 17)]


def test_an_anchor_in_the_future_sets_the_phase_and_does_not_delay_the_runs() -> None:
    schedule = normalise_schedule({"interval": 3600, "anchor_date": "2030-01-01T00:15:00Z"})
    assert next_times(schedule, utc(2026, 5, 5, 10, 0), 2) == [utc(2026, 5, 5, 10, 15), utc(2026, 5, 5, 11, 15)]


def test_rrule_in_berlin_across_the_march_change() -> None:
    schedule = normalise_schedule({"rrule": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "timezone": "Europe/Berlin"})
    times = next_times(schedule, utc(2024, 3, 29, 12), 3)
    assert times == [utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 30), utc(2024, 4, 1, 0, 30)]


def test_rrule_with_count_ends() -> None:
    schedule = normalise_schedule({"rrule": "DTSTART:20240101T000000Z\nRRULE:FREQ=DAILY;COUNT=3"})
    assert next_times(schedule, utc(2023, 1, 1), 10) == [utc(2024, 1, 1), utc(2024, 1, 2), utc(2024, 1, 3)]


def _occurrences_walked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the occurrences dateutil generates: the work a rule costs, measured without a clock."""
    walked = [0]
    original = dateutil_rrule.rrule._iter

    def counting(self: dateutil_rrule.rrule) -> Iterator[datetime]:
        for occurrence in original(self):
            walked[0] += 1
            yield occurrence

    monkeypatch.setattr(dateutil_rrule.rrule, "_iter", counting)
    return walked


def test_high_frequency_rrule_is_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    # dateutil walks from DTSTART; without fast-forwarding this walks ~330 million occurrences (about a minute).
    walked = _occurrences_walked(monkeypatch)
    schedule = normalise_schedule({"rrule": "FREQ=SECONDLY;INTERVAL=30"})
    assert next_times(schedule, utc(2030, 6, 1, 12, 0, 10), 2) == [utc(2030, 6, 1, 12, 0, 30), utc(2030, 6, 1, 12, 1)]
    assert walked[0] < 100_000


def test_high_frequency_rrule_with_a_large_count_is_fast_and_still_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without fast-forwarding, COUNT rules are walked from 2020: `deployment ls` and a scheduler pass hung.
    walked = _occurrences_walked(monkeypatch)
    schedule = normalise_schedule({"rrule": "FREQ=SECONDLY;COUNT=100000000"})  # 2020-01-01 + ~3.17 years
    assert next_times(schedule, utc(2020, 3, 1), 2) == [utc(2020, 3, 1, 0, 0, 1), utc(2020, 3, 1, 0, 0, 2)]
    assert walked[0] < 100_000  # a few hours of seconds, not the ~5 million from 2020-01-01 to 2020-03-01
    assert next_times(schedule, utc(2023, 1, 1), 2) == [utc(2023, 1, 1, 0, 0, 1), utc(2023, 1, 1, 0, 0, 2)]
    last = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=100000000 - 1)
    assert next_times(schedule, last - timedelta(seconds=2), 5) == [last - timedelta(seconds=1), last]
    assert next_times(schedule, utc(2030, 1, 1), 5) == []


@pytest.mark.parametrize(
    "rrule",
    [
        "DTSTART:20240101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=7;COUNT=1000",
        "DTSTART:20240101T000000Z\nRRULE:FREQ=HOURLY;COUNT=50",
        "DTSTART:20240101T083000\nRRULE:FREQ=DAILY;COUNT=20",
        "DTSTART:20240101T000000\nRRULE:FREQ=MINUTELY;BYHOUR=8,9;COUNT=300",
    ],
)
def test_count_rrule_gives_the_same_times_from_any_point(rrule: str) -> None:
    schedule = normalise_schedule({"rrule": rrule, "timezone": "Europe/Berlin"})
    every = next_times(schedule, utc(2023, 1, 1), 2000)
    assert every and len(every) < 2000
    for i in (0, 1, len(every) // 2, len(every) - 2, len(every) - 1):
        assert next_times(schedule, every[i], 3) == every[i + 1 : i + 4]


def test_next_times_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_times(normalise_schedule({"cron": "0 9 * * *"}), datetime(2024, 1, 1), 1)


def test_next_times_are_utc_so_the_repeated_hour_stays_distinct() -> None:
    schedule = normalise_schedule({"cron": "0 * * * *", "timezone": "Europe/Berlin"})
    first, second = next_times(schedule, utc(2024, 10, 26, 23, 30), 2)
    assert first.tzinfo is UTC and second - first == timedelta(hours=1)


def test_a_count_rule_too_long_to_walk_is_refused() -> None:
    slow = check_schedule({"rrule": "FREQ=SECONDLY;BYSECOND=0,30;COUNT=100000000"})
    assert [p.key for p in slow] == ["rrule"]
    assert "too slow for the scheduler" in slow[0].message
    assert slow[0].hint == "use UNTIL instead of COUNT, or give a DTSTART close to the first run"
    # Without BY parts the scheduler skips ahead; with a recent DTSTART the walk is short.
    assert check_schedule({"rrule": "FREQ=MINUTELY;COUNT=100000000"}) == []
    recent = datetime.now().strftime("%Y%m%dT000000")
    assert check_schedule({"rrule": f"DTSTART:{recent}\nRRULE:FREQ=MINUTELY;BYSECOND=0;COUNT=100"}) == []
