"""The scheduler at its edges: a run is missed the moment the next slot is due, a changed queue re-makes the
waiting runs, what a horizon refuses and what a pass reports (`deploytool scheduler --once -o json`)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from deploytool.core.runs import cancel_run
from deploytool.errors import DeploytoolError, NotFoundError
from deploytool.models import RunState
from deploytool.scheduling import Horizon, PassReport, schedule_runs
from deploytool.store import Store
from tests.scheduling.helpers import auto_runs, deploy, times, utc
from tests.worker.helpers import make_pool

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


# --- a pass at exactly a slot's time -----------------------------------------------------------------------


def test_at_a_slot_s_time_the_run_due_now_is_not_counted_ahead(store: Store) -> None:
    deployment = deploy(store, [{"cron": "0 * * * *"}])
    schedule_runs(store, NOW)  # 11:00, 12:00, 13:00
    assert schedule_runs(store, utc(2025, 1, 6, 11)).created == 1  # 11:00 is due, not ahead: 14:00 is made
    waiting = auto_runs(store, deployment, RunState.SCHEDULED)
    assert times(waiting) == [utc(2025, 1, 6, h) for h in (11, 12, 13, 14)]


def test_a_changed_deployment_leaves_the_run_due_now_as_it_was_made(store: Store) -> None:
    deployment = deploy(store, [{"cron": "0 * * * *"}], parameters={"x": 1})
    schedule_runs(store, NOW)
    deploy(store, [{"cron": "0 * * * *"}], parameters={"x": 2})
    report = schedule_runs(store, utc(2025, 1, 6, 11))  # 11:00 is due: a worker may be claiming it right now
    assert report.deleted == 2 and report.created == 3
    waiting = auto_runs(store, deployment, RunState.SCHEDULED)
    assert [(t.hour, r.parameters) for t, r in zip(times(waiting), waiting, strict=True)] == [
        (11, {"x": 1}), (12, {"x": 2}), (13, {"x": 2}), (14, {"x": 2}),
    ]  # fmt: skip


# --- what the look-ahead counts ----------------------------------------------------------------------------


def test_a_cancelled_upcoming_run_is_not_made_again_and_the_next_slot_takes_its_place(store: Store) -> None:
    deployment = deploy(store, [{"cron": "0 * * * *"}])
    schedule_runs(store, NOW)  # 11:00, 12:00, 13:00
    assert schedule_runs(store, NOW + timedelta(minutes=10)).changed is False
    noon = auto_runs(store, deployment)[1]
    cancel_run(store, noon.id)
    assert schedule_runs(store, NOW + timedelta(minutes=20)).created == 1
    assert times(auto_runs(store, deployment, RunState.SCHEDULED)) == [utc(2025, 1, 6, h) for h in (11, 13, 14)]
    assert store.runs.get(noon.id).state is RunState.CANCELLED


def test_the_horizon_s_end_is_inclusive(store: Store) -> None:
    deployment = deploy(store, [{"cron": "0 * * * *"}])
    horizon = Horizon(min_runs=5, min_seconds=0, max_runs=10, max_seconds=7200)
    schedule_runs(store, utc(2025, 1, 6, 10), horizon=horizon)
    assert times(auto_runs(store, deployment)) == [utc(2025, 1, 6, 11), utc(2025, 1, 6, 12)]  # 12:00 is at the end


def test_an_rrule_that_ends_makes_its_last_runs_and_then_none(store: Store) -> None:
    deployment = deploy(store, [{"rrule": "DTSTART:20250106T100000\nRRULE:FREQ=HOURLY;COUNT=3"}])
    first = schedule_runs(store, NOW)
    assert first.errors == [] and first.created == 2
    assert times(auto_runs(store, deployment)) == [utc(2025, 1, 6, 11), utc(2025, 1, 6, 12)]
    later = schedule_runs(store, utc(2025, 1, 6, 13))
    assert later.errors == [] and later.created == 0


# --- the runs a pass makes ---------------------------------------------------------------------------------


def test_a_scheduled_run_says_which_schedule_made_it_and_when(store: Store) -> None:
    deployment = deploy(store, [{"cron": "0 * * * *", "timezone": "Europe/Berlin"}])
    schedule_runs(store, NOW)
    run = auto_runs(store, deployment)[0]
    assert run.state_message == "scheduled by cron 0 * * * * (Europe/Berlin)"
    assert run.created == NOW


def test_a_pass_for_one_pool_leaves_the_other_pools_alone(store: Store) -> None:
    make_pool(store, "other")
    mine = deploy(store, [{"cron": "0 * * * *"}], name="mine")
    theirs = deploy(store, [{"cron": "0 * * * *"}], name="theirs")
    store.deployments.upsert(replace(theirs, pool_name="other"))
    report = schedule_runs(store, NOW, pool="p")
    assert report.deployments == 1 and report.created == 3
    assert len(auto_runs(store, mine)) == 3 and auto_runs(store, theirs) == []


def test_a_pass_report_adds_up_every_deployment(store: Store) -> None:
    first = deploy(store, [{"cron": "0 * * * *"}], name="a")
    second = deploy(store, [{"cron": "0 * * * *"}], name="b")
    deploy(store, [], name="c")
    report = schedule_runs(store, NOW)
    assert (report.deployments, report.created, report.deleted) == (3, 6, 0)
    deploy(store, [{"cron": "30 * * * *"}], name="a")
    deploy(store, [{"cron": "30 * * * *"}], name="b")
    report = schedule_runs(store, NOW)
    assert (report.deployments, report.created, report.deleted) == (3, 6, 6)
    assert len(auto_runs(store, first)) == len(auto_runs(store, second)) == 3


# --- a deployment that fails does not stop the pass ----------------------------------------------------------


@pytest.mark.parametrize("first", ["gone", "broken"])
def test_a_deployment_deleted_or_refused_during_a_pass_is_skipped_or_reported_and_the_pass_goes_on(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, first: str
) -> None:
    import deploytool.scheduling.scheduler as scheduler

    failing = deploy(store, [{"cron": "0 * * * *"}], name="a")  # listed first (by name)
    fine = deploy(store, [{"cron": "0 * * * *"}], name="b")
    real = scheduler.schedule_deployment

    def failing_first(store_: Store, deployment_id: str, *args: object, **kwargs: object) -> object:
        if deployment_id == failing.id:
            if first == "gone":
                raise NotFoundError("deployment 'f/a' not found")  # deleted since the pass listed it
            raise DeploytoolError("the store is locked")
        return real(store_, deployment_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler, "schedule_deployment", failing_first)
    with caplog.at_level(logging.ERROR, logger="deploytool.scheduler"):
        report = schedule_runs(store, NOW)
    assert len(auto_runs(store, fine)) == 3
    if first == "gone":
        assert report.errors == [] and caplog.records == []
    else:
        assert report.errors == ["f/a: the store is locked"]
        assert [r.getMessage() for r in caplog.records] == ["scheduler: deployment f/a: the store is locked"]


def test_an_unexpected_error_is_logged_with_its_traceback_naming_the_deployment(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import deploytool.scheduling.scheduler as scheduler

    deploy(store, [{"cron": "0 * * * *"}], name="broken")

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("tz data missing")

    monkeypatch.setattr(scheduler, "schedule_deployment", broken)
    with caplog.at_level(logging.ERROR, logger="deploytool.scheduler"):
        schedule_runs(store, NOW)
    (record,) = caplog.records
    assert record.getMessage() == "scheduler: deployment f/broken: unexpected error"
    assert record.exc_info is not None and "tz data missing" in str(record.exc_info[1])
