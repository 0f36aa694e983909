"""The scheduler at its edges: a run is missed the moment the next slot is due, a changed queue re-makes the
waiting runs, what a horizon refuses and what a pass reports (`deploytool scheduler --once -o json`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from deploytool.models import RunState
from deploytool.scheduling import Horizon, PassReport, schedule_runs
from deploytool.store import Store
from tests.scheduling.helpers import auto_runs, deploy, times, utc

NOW = utc(2025, 1, 6, 10, 30)


def test_a_waiting_run_is_missed_exactly_when_the_next_slot_is_due(store: Store) -> None:
    deployment = deploy(store, [{"cron": "0 * * * *"}], catch_up="none")
    schedule_runs(store, NOW)  # 11:00, 12:00, 13:00
    schedule_runs(store, utc(2025, 1, 6, 12))  # 12:00 sharp: the 11:00 run's next slot is due now
    assert times(auto_runs(store, deployment, RunState.CANCELLED)) == [utc(2025, 1, 6, 11)]
    assert times(auto_runs(store, deployment, RunState.SCHEDULED))[0] == utc(2025, 1, 6, 12)


def test_waiting_runs_follow_a_changed_queue(store: Store) -> None:
    deployment = deploy(store, [{"cron": "0 * * * *"}])
    schedule_runs(store, NOW)
    store.deployments.upsert(replace(deployment, queue_name="fast"))
    report = schedule_runs(store, NOW)
    waiting = auto_runs(store, deployment, RunState.SCHEDULED)
    assert [r.queue_name for r in waiting] == ["fast"] * 3
    assert times(waiting) == [utc(2025, 1, 6, h) for h in (11, 12, 13)]
    assert report.deleted == 3 and report.created == 3


@pytest.mark.parametrize(
    ("horizon", "problems"),
    [
        (Horizon(), []),
        (Horizon(min_runs=1, max_runs=1, min_seconds=0, max_seconds=1), []),
        (Horizon(min_seconds=60, max_seconds=60), []),
        (Horizon(min_runs=0), ["the minimum number of runs (0) must be between 1 and the maximum"]),
        (Horizon(min_runs=5, max_runs=4), ["the minimum number of runs (5) must be between 1 and the maximum"]),
        (
            Horizon(min_runs=1, max_runs=0),
            [
                "the minimum number of runs (1) must be between 1 and the maximum",
                "the maximum number of runs must be at least 1, not 0",
            ],
        ),
        (
            Horizon(min_seconds=-1),
            ["the minimum time ahead (-1s) must be between 0 and the maximum (8.64e+06s, at most 3.1536e+08s)"],
        ),
        (
            Horizon(min_seconds=10, max_seconds=5),
            ["the minimum time ahead (10s) must be between 0 and the maximum (5s, at most 3.1536e+08s)"],
        ),
        (
            Horizon(min_seconds=0, max_seconds=0),
            ["the minimum time ahead (0s) must be between 0 and the maximum (0s, at most 3.1536e+08s)"],
        ),
        (
            Horizon(max_seconds=315_360_001),
            ["the minimum time ahead (3600s) must be between 0 and the maximum (3.1536e+08s, at most 3.1536e+08s)"],
        ),
    ],
)
def test_a_horizon_says_each_of_its_problems(horizon: Horizon, problems: list[str]) -> None:
    assert horizon.problems() == problems


def test_a_horizon_at_its_largest_is_fine() -> None:
    assert Horizon(max_seconds=315_360_000).problems() == []


def test_a_pass_report_as_json() -> None:
    report = PassReport(deployments=2, created=3, cancelled=1, deleted=4, errors=["d: boom"])
    assert report.to_json() == {"deployments": 2, "created": 3, "cancelled": 1, "deleted": 4, "errors": ["d: boom"]}
    assert report.changed and not PassReport(deployments=5).changed
    assert PassReport(errors=["x"]).changed and PassReport(deleted=1).changed and PassReport(cancelled=1).changed


@pytest.mark.parametrize("gap", [timedelta(days=1), timedelta(days=365)])
def test_catch_up_all_makes_up_exactly_the_most_recent_slots_up_to_now(store: Store, gap: timedelta) -> None:
    """A per-second schedule down for a day (86,400 slots) or a year (31 million): the pass makes up the 100 most
    recent slots, the last one due exactly now, and skips ahead instead of walking every slot of the gap."""
    deployment = deploy(store, [{"interval": 1}], catch_up="all")
    schedule_runs(store, NOW)
    made_before = times(auto_runs(store, deployment, RunState.SCHEDULED))
    back = NOW + gap
    schedule_runs(store, back)
    waiting = times(auto_runs(store, deployment, RunState.SCHEDULED))
    made_up = [t for t in waiting if made_before[-1] < t <= back]
    assert made_up == [back - timedelta(seconds=s) for s in range(99, -1, -1)]
