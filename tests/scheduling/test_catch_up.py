"""Catch-up after downtime, late labels: a day without any worker or scheduler, simulated with `now`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deploytool.core.runs import list_runs
from deploytool.models import RunState
from deploytool.scheduling import schedule_runs
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
