"""The scheduler with a controllable clock: horizon, idempotency, DST, redeploys, pause/resume, racing passes."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from deploytool.core.deployments import pause_deployment, resume_deployment
from deploytool.models import RunState
from deploytool.scheduling import Horizon, schedule_runs
from deploytool.store import Store
from tests.scheduling.helpers import auto_runs, deploy, times, utc
from tests.worker.helpers import queue_run

NOW = utc(2025, 1, 6, 10, 30)


def test_a_pass_creates_the_horizon_once_and_again_changes_nothing(store: Store) -> None:
    d = deploy(store, [{"cron": "0 * * * *"}])
    first = schedule_runs(store, NOW)
    assert first.created == 3  # at least 3 runs, and every run within the hour (only 11:00)
    assert times(auto_runs(store, d)) == [utc(2025, 1, 6, 11), utc(2025, 1, 6, 12), utc(2025, 1, 6, 13)]
    assert schedule_runs(store, NOW).created == 0
    # Ten minutes later nothing new is needed; an hour later the horizon moves on by one run.
    assert schedule_runs(store, NOW + timedelta(minutes=10)).created == 0
    assert schedule_runs(store, NOW + timedelta(hours=1)).created == 1
    assert len(auto_runs(store, d)) == 4


def test_the_horizon_covers_an_hour_but_never_more_than_max_runs(store: Store) -> None:
    fast = deploy(store, [{"interval": 60}], name="fast")
    faster = deploy(store, [{"interval": 1}], name="faster")
    schedule_runs(store, NOW)
    assert len(auto_runs(store, fast)) == 60  # every minute of the next hour
    assert len(auto_runs(store, faster)) == 100  # capped
    assert auto_runs(store, faster)[0].scheduled_time == NOW + timedelta(seconds=1)
    small = Horizon(min_runs=2, min_seconds=0, max_runs=5)
    other = deploy(store, [{"cron": "0 0 * * *"}], name="daily")
    schedule_runs(store, NOW, horizon=small)
    assert times(auto_runs(store, other)) == [utc(2025, 1, 7), utc(2025, 1, 8)]


def test_runs_carry_the_schedule_s_parameters_over_the_deployment_s(store: Store) -> None:
    d = deploy(
        store,
        [{"cron": "0 9 * * *", "parameters": {"region": "eu"}}, {"cron": "0 21 * * *"}],
        parameters={"region": "us", "n": 1},
    )
    schedule_runs(store, NOW, horizon=Horizon(min_runs=1, min_seconds=0))
    by_hour = {r.scheduled_time.hour: r for r in auto_runs(store, d)}
    assert by_hour[9].parameters == {"region": "eu", "n": 1}
    assert by_hour[21].parameters == {"region": "us", "n": 1}
    assert by_hour[9].state is RunState.SCHEDULED and by_hour[9].pool_name == "p"
    assert "scheduled by cron 0 9 * * *" in (by_hour[9].state_message or "")


def test_inactive_schedules_and_deployments_without_schedules_make_no_runs(store: Store) -> None:
    inactive = deploy(store, [{"interval": 60, "active": False}], name="inactive")
    none = deploy(store, [], name="none")
    schedule_runs(store, NOW)
    assert auto_runs(store, inactive) == [] and auto_runs(store, none) == []


# --- daylight saving time (Europe/Berlin: 2025-03-30 02:00 -> 03:00, 2025-10-26 03:00 -> 02:00) ----------------


def test_a_daily_cron_keeps_its_wall_time_across_both_berlin_changes(store: Store) -> None:
    d = deploy(store, [{"cron": "30 2 * * *", "timezone": "Europe/Berlin"}])
    horizon = Horizon(min_runs=3, min_seconds=0)
    schedule_runs(store, utc(2025, 3, 28, 12), horizon=horizon)
    assert times(auto_runs(store, d)) == [
        utc(2025, 3, 29, 1, 30),  # 02:30 CET
        utc(2025, 3, 30, 1, 30),  # 02:30 does not exist: 03:30 CEST, once
        utc(2025, 3, 31, 0, 30),  # 02:30 CEST
    ]
    schedule_runs(store, utc(2025, 10, 24, 12), horizon=horizon)
    assert times(auto_runs(store, d))[-3:] == [
        utc(2025, 10, 25, 0, 30),  # 02:30 CEST
        utc(2025, 10, 26, 0, 30),  # 02:30 happens twice: the first one (CEST), once
        utc(2025, 10, 27, 1, 30),  # 02:30 CET
    ]


def test_an_hourly_cron_follows_the_clock_across_the_berlin_changes(store: Store) -> None:
    d = deploy(store, [{"cron": "0 * * * *", "timezone": "Europe/Berlin"}])
    horizon = Horizon(min_runs=4, min_seconds=0)
    schedule_runs(store, utc(2025, 3, 29, 23, 30), horizon=horizon)  # 00:30 CET
    # 01:00 CET, then 03:00 CEST (02:00 does not exist), 04:00, 05:00 CEST: every real hour, no extra run.
    assert times(auto_runs(store, d)) == [utc(2025, 3, 30, 0), utc(2025, 3, 30, 1), utc(2025, 3, 30, 2),
                                          utc(2025, 3, 30, 3)]  # fmt: skip
    schedule_runs(store, utc(2025, 10, 25, 23, 30), horizon=horizon)  # 01:30 CEST
    # 02:00 CEST, 02:00 CET (the repeated hour runs twice), 03:00 CET, 04:00 CET.
    assert times(auto_runs(store, d))[-4:] == [utc(2025, 10, 26, 0), utc(2025, 10, 26, 1), utc(2025, 10, 26, 2),
                                               utc(2025, 10, 26, 3)]  # fmt: skip


def test_a_daily_interval_anchored_in_berlin_keeps_09_00_local(store: Store) -> None:
    d = deploy(store, [{"interval": 86400, "anchor_date": "2025-03-01T09:00:00", "timezone": "Europe/Berlin"}])
    schedule_runs(store, utc(2025, 3, 29, 12), horizon=Horizon(min_runs=2, min_seconds=0))
    assert times(auto_runs(store, d)) == [utc(2025, 3, 30, 7), utc(2025, 3, 31, 7)]  # 09:00 CEST


# --- redeploys, pause and resume --------------------------------------------------------------------------


def test_a_changed_schedule_replaces_its_waiting_runs_and_keeps_history(store: Store) -> None:
    d = deploy(store, [{"cron": "0 * * * *"}])
    schedule_runs(store, NOW)
    started = auto_runs(store, d)[0]
    store.runs.claim_next("p", None, "w", 30, started.scheduled_time)
    deploy(store, [{"cron": "15 * * * *"}])  # the redeploy
    report = schedule_runs(store, NOW)
    assert report.deleted == 2
    runs = auto_runs(store, d)
    assert [(r.scheduled_time.minute, r.state) for r in runs] == [
        (0, RunState.PENDING),  # the claimed 11:00 run stays
        (15, RunState.SCHEDULED),  # 11:15
        (15, RunState.SCHEDULED),
        (15, RunState.SCHEDULED),
    ]
    # Changing it back does not resurrect anything twice: each slot exists once.
    deploy(store, [{"cron": "0 * * * *"}])
    schedule_runs(store, NOW)
    assert sorted(t.minute for t in times(auto_runs(store, d))) == [0, 0, 0]


def test_a_removed_schedule_takes_its_waiting_runs_manual_runs_stay(store: Store) -> None:
    d = deploy(store, [{"cron": "0 * * * *"}])
    schedule_runs(store, NOW)
    manual = queue_run(store, d, scheduled_time=NOW + timedelta(hours=2))
    deploy(store, [])
    assert schedule_runs(store, NOW).deleted == 3
    assert auto_runs(store, d) == []
    assert store.runs.get(manual.id).state is RunState.SCHEDULED


def test_changed_deployment_parameters_remake_the_future_runs(store: Store) -> None:
    d = deploy(store, [{"interval": 3600}], parameters={"x": 1})
    schedule_runs(store, NOW)
    deploy(store, [{"interval": 3600}], parameters={"x": 2})
    report = schedule_runs(store, NOW)
    assert report.deleted == 3 and report.created == 3
    assert {r.parameters["x"] for r in auto_runs(store, d)} == {2}


def test_same_schedule_written_differently_is_the_same_schedule(store: Store) -> None:
    d = deploy(store, [{"interval": 3600}])
    schedule_runs(store, NOW)
    before = {r.id for r in auto_runs(store, d)}
    deploy(store, [{"interval": "PT1H", "timezone": "UTC"}])
    report = schedule_runs(store, NOW)
    assert report.deleted == 0 and report.created == 0
    assert {r.id for r in auto_runs(store, d)} == before


def test_pause_deletes_waiting_auto_runs_and_resume_starts_from_now(store: Store) -> None:
    d = deploy(store, [{"cron": "0 * * * *"}], catch_up="all")
    schedule_runs(store, NOW)
    manual = queue_run(store, d)
    paused, removed = pause_deployment(store, "f/d", now=NOW)
    assert paused.paused and removed == 3
    assert schedule_runs(store, NOW + timedelta(hours=5)).created == 0
    assert auto_runs(store, d) == []
    assert store.runs.get(manual.id).state is RunState.SCHEDULED
    # A redeploy that does not mention `paused` keeps it paused (core.resolve does the same from the file).
    _, created = resume_deployment(store, "f/d", now=NOW + timedelta(days=1, minutes=30))
    # From now on only: the day it was paused is not made up, even with catch_up: all.
    assert created == 3
    assert times(auto_runs(store, d))[0] == utc(2025, 1, 7, 12)  # resumed at 11:00 sharp: the next is 12:00


# --- several schedulers at once ---------------------------------------------------------------------------


def test_schedulers_racing_on_one_store_create_each_run_once(store: Store, db_path: Path) -> None:
    deployments = [deploy(store, [{"interval": 60}, {"cron": "*/5 * * * *"}], name=f"d{i}") for i in range(5)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def scheduler() -> None:
        try:
            with Store.open(db_path) as own:  # its own connection, as another process would have
                start.wait()
                for step in range(15):
                    schedule_runs(own, NOW + timedelta(minutes=step))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for d in deployments:
        runs = auto_runs(store, d)
        keys = [r.idempotency_key for r in runs]
        assert len(keys) == len(set(keys))
        slots = [(r.scheduled_time, (r.idempotency_key or "").split(":")[2]) for r in runs]
        assert len(slots) == len(set(slots))
        # interval 60: NOW+1min .. NOW+14min+60min; */5: 10:35 .. 11:40
        assert len(runs) == 74 + 14


def test_a_pass_with_nothing_to_change_takes_no_write_lock(store: Store, db_path: Path) -> None:
    """Once the horizons are filled a pass only reads: another process holding the write lock does not hold it up."""
    deploy(store, [{"cron": "0 * * * *"}], name="hourly")
    deploy(store, [{"rrule": "DTSTART:20250106T080000\nRRULE:FREQ=HOURLY;COUNT=2"}], name="ended")
    deploy(store, [{"interval": 60, "active": False}], name="inactive")
    deploy(store, [], name="unscheduled")
    assert schedule_runs(store, NOW).created == 3
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a pass that wanted the lock would wait for it and then fail
    try:
        for later in (timedelta(0), timedelta(minutes=10), timedelta(minutes=29)):
            report = schedule_runs(store, NOW + later)
            assert report.deployments == 4 and not report.changed, report
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert schedule_runs(store, NOW + timedelta(hours=1)).created == 1  # something to make: it writes, as before


def test_an_unexpected_error_in_one_deployment_does_not_stop_the_pass(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deploytool.scheduling.scheduler as scheduler

    broken = deploy(store, [{"cron": "0 * * * *"}], name="broken")
    fine = deploy(store, [{"cron": "0 * * * *"}], name="fine")
    real = scheduler.schedule_deployment

    def flaky(store_: Store, deployment_id: str, *args: object, **kwargs: object) -> object:
        if deployment_id == broken.id:
            raise RuntimeError("tz data missing")
        return real(store_, deployment_id, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler, "schedule_deployment", flaky)
    report = schedule_runs(store, NOW)
    assert report.errors == ["f/broken: unexpected RuntimeError: tz data missing"]
    assert len(auto_runs(store, fine)) == 3
    assert auto_runs(store, broken) == []
