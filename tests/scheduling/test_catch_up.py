"""Catch-up after downtime, late labels: a day without any worker or scheduler, simulated with `now`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deploytool.core.runs import list_runs
from deploytool.models import RunState
from deploytool.scheduling import Horizon, schedule_runs
from deploytool.store import Store
from tests.scheduling.helpers import auto_runs, deploy, times, utc

NOW = utc(2025, 1, 6, 10, 30)
BACK = NOW + timedelta(days=1, minutes=20)  # 2025-01-07 10:50: back after a day


def _down_for_a_day(store: Store, policy: str | None) -> None:
    fields = {"catch_up": policy} if policy else {}
    deploy(store, [{"cron": "0 * * * *"}], **fields)
    schedule_runs(store, NOW)  # 11:00, 12:00, 13:00 created; then everything stops for a day


def test_latest_is_the_default_keeps_one_run_and_cancels_the_rest_with_a_reason(store: Store) -> None:
    _down_for_a_day(store, None)
    report = schedule_runs(store, BACK)
    d = store.deployments.get_by_name("f", "d")
    assert d.catch_up == "latest"
    cancelled = auto_runs(store, d, RunState.CANCELLED)
    assert times(cancelled) == [utc(2025, 1, 6, 11), utc(2025, 1, 6, 12), utc(2025, 1, 6, 13)]
    assert all("missed while no worker was running" in (r.state_message or "") for r in cancelled)
    assert all("catch_up: latest" in (r.state_message or "") for r in cancelled)
    waiting = auto_runs(store, d, RunState.SCHEDULED)
    # The most recent missed slot (10:00 today) runs once; then the normal horizon.
    assert times(waiting) == [utc(2025, 1, 7, 10), utc(2025, 1, 7, 11), utc(2025, 1, 7, 12), utc(2025, 1, 7, 13)]
    assert report.cancelled == 3 and report.created == 4
    # Due now: exactly one run, so a worker coming back starts one run, not a day of them.
    assert [r for r in waiting if r.scheduled_time <= BACK] == waiting[:1]
    assert schedule_runs(store, BACK).changed is False  # a second pass finds nothing to do


def test_none_cancels_every_missed_run_and_makes_up_nothing(store: Store) -> None:
    _down_for_a_day(store, "none")
    schedule_runs(store, BACK)
    d = store.deployments.get_by_name("f", "d")
    assert len(auto_runs(store, d, RunState.CANCELLED)) == 3
    assert times(auto_runs(store, d, RunState.SCHEDULED)) == [utc(2025, 1, 7, 11), utc(2025, 1, 7, 12),
                                                              utc(2025, 1, 7, 13)]  # fmt: skip


def test_all_keeps_the_missed_runs_and_makes_up_the_slots_nobody_created(store: Store) -> None:
    _down_for_a_day(store, "all")
    schedule_runs(store, BACK)
    d = store.deployments.get_by_name("f", "d")
    assert auto_runs(store, d, RunState.CANCELLED) == []
    waiting = auto_runs(store, d, RunState.SCHEDULED)
    due = [r for r in waiting if r.scheduled_time <= BACK]
    # Every hour from 11:00 yesterday to 10:00 today: 3 created before, 21 made up.
    assert times(due) == [utc(2025, 1, 6, 11) + timedelta(hours=h) for h in range(24)]
    made_up = [r for r in due if "caught up" in (r.state_message or "")]
    assert len(made_up) == 21
    # A worker still takes them at its own --limit pace; nothing is cancelled on later passes either.
    assert schedule_runs(store, BACK + timedelta(minutes=1)).cancelled == 0


def test_all_makes_up_at_most_max_runs_of_a_fast_schedule(store: Store) -> None:
    d = deploy(store, [{"interval": 1}], catch_up="all")
    schedule_runs(store, NOW)
    schedule_runs(store, NOW + timedelta(days=1))
    due = [r for r in auto_runs(store, d, RunState.SCHEDULED) if r.scheduled_time <= NOW + timedelta(days=1)]
    assert len(due) == 100 + 100  # the 100 made before the gap, plus the most recent 100 missed slots


def test_a_run_late_by_less_than_a_period_is_late_not_missed(store: Store) -> None:
    _down_for_a_day(store, "none")
    later = utc(2025, 1, 6, 11, 20)  # the 11:00 run is 20 min late; 12:00 has not come
    assert schedule_runs(store, later).cancelled == 0
    rows = list_runs(store, late=True, now=later)
    assert [r.scheduled_time for r in rows] == [utc(2025, 1, 6, 11)]
    assert rows[0].label == "LATE"
    # Once 12:00 has passed as well, 11:00 was missed.
    assert schedule_runs(store, utc(2025, 1, 6, 12, 0, 1)).cancelled == 1


@pytest.mark.parametrize("policy", ["all", "latest", "none"])
def test_a_fresh_schedule_never_makes_up_the_past(store: Store, policy: str) -> None:
    d = deploy(store, [{"cron": "0 * * * *"}], catch_up=policy)
    schedule_runs(store, NOW)
    assert times(auto_runs(store, d))[0] == utc(2025, 1, 6, 11)


def _missed(when: str, policy: str) -> str:
    return (
        f"missed while no worker was running (scheduled for {when} UTC, and later runs of its schedule were due too);"
        f" catch_up: {policy}"
    )


@pytest.mark.parametrize(
    ("policy", "says"),
    [("latest", "latest keeps only the most recent missed run"), ("none", "none skips missed runs")],
)
def test_a_cancelled_missed_run_says_why_and_ends_when_the_pass_ran(store: Store, policy: str, says: str) -> None:
    _down_for_a_day(store, policy)
    schedule_runs(store, BACK)
    cancelled = auto_runs(store, store.deployments.get_by_name("f", "d"), RunState.CANCELLED)
    assert [r.state_message for r in cancelled] == [_missed(f"2025-01-06 {hour}:00:00", says) for hour in (11, 12, 13)]
    assert [r.end_time for r in cancelled] == [BACK] * 3


def test_a_policy_this_version_does_not_know_is_the_default(store: Store) -> None:
    """A store edited by hand, or written by a newer deploytool, may hold a policy this one does not know."""
    _down_for_a_day(store, "sometimes")
    report = schedule_runs(store, BACK)
    d = store.deployments.get_by_name("f", "d")
    assert report.cancelled == 3 and report.created == 4
    assert times(auto_runs(store, d, RunState.SCHEDULED))[0] == utc(2025, 1, 7, 10)
    assert auto_runs(store, d, RunState.CANCELLED)[0].state_message == _missed(
        "2025-01-06 11:00:00", "latest keeps only the most recent missed run"
    )


def test_back_exactly_at_a_slot_s_time_latest_keeps_only_the_run_due_now(store: Store) -> None:
    _down_for_a_day(store, "latest")  # 11:00, 12:00, 13:00
    report = schedule_runs(store, utc(2025, 1, 6, 13))
    d = store.deployments.get_by_name("f", "d")
    assert times(auto_runs(store, d, RunState.CANCELLED)) == [utc(2025, 1, 6, 11), utc(2025, 1, 6, 12)]
    assert times(auto_runs(store, d, RunState.SCHEDULED)) == [utc(2025, 1, 6, h) for h in (13, 14, 15, 16)]
    assert report.cancelled == 2


def test_all_makes_up_the_most_recent_slots_of_a_schedule_that_runs_in_bursts(store: Store) -> None:
    """Every minute of 09:00 UTC, down for over two years (48,000 slots): the walk over the gap skips ahead by the
    schedule's mean pace, one slot every 24 minutes, which would find only one day's 60 slots in the last 102 x 24
    minutes; it goes further back until it holds the 100 most recent (fixed: the 40 before them came from the
    day the walk stopped, two years earlier)."""
    d = deploy(store, [{"rrule": "FREQ=MINUTELY;BYHOUR=9"}], catch_up="all")
    schedule_runs(store, NOW)
    made_before = times(auto_runs(store, d, RunState.SCHEDULED))
    back = utc(2027, 3, 16, 8, 59)
    schedule_runs(store, back)
    made_up = [t for t in times(auto_runs(store, d, RunState.SCHEDULED)) if made_before[-1] < t <= back]
    day_before, last_day = utc(2027, 3, 14, 9), utc(2027, 3, 15, 9)
    assert made_up == [day_before + timedelta(minutes=m) for m in range(20, 60)] + [
        last_day + timedelta(minutes=m) for m in range(60)
    ]


def test_all_makes_up_more_slots_than_one_walk_step_when_max_runs_allows(store: Store) -> None:
    d = deploy(store, [{"interval": 1}], catch_up="all")
    horizon = Horizon(min_runs=1, min_seconds=0, max_runs=1050)
    schedule_runs(store, NOW, horizon=horizon)  # NOW + 1 s
    back = NOW + timedelta(seconds=1100)
    schedule_runs(store, back, horizon=horizon)
    due = times(auto_runs(store, d, RunState.SCHEDULED))
    assert due[:1051] == [NOW + timedelta(seconds=1)] + [NOW + timedelta(seconds=s) for s in range(51, 1101)]


def test_all_with_a_max_runs_over_the_walk_s_limit_makes_up_the_whole_gap_and_nothing_before_it() -> None:
    """`scheduler --max-runs 25000` after 20,499 missed slots of a per-second schedule: more than the walk takes
    before it skips ahead, fewer than max_runs. Every slot of the gap is made up, none from before the last pass.
    (The slots `catch_up: all` makes up, without creating 20,000 runs in a store.)"""
    from deploytool.config.schedules import normalise_schedule
    from deploytool.scheduling.scheduler import _due_slots

    mark = NOW + timedelta(seconds=1)  # the last slot the pass before the gap created
    back = mark + timedelta(seconds=20_499)
    slots = _due_slots(normalise_schedule({"interval": 1}), mark, back, 25_000)
    assert len(slots) == 20_499 and (slots[0], slots[-1]) == (mark + timedelta(seconds=1), back)
