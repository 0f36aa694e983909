"""The worker loop schedules its pool's deployments, driven by a controllable clock (tick takes `now`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from deploytool.models import RunState
from deploytool.store import Store
from tests.worker.helpers import make_deployment, make_pool, tick_until, worker, write_flow

T0 = datetime(2030, 3, 30, 22, 0, tzinfo=UTC)  # the night of Europe/Berlin's spring-forward change


def test_the_worker_schedules_and_runs_due_runs_on_its_clock(tmp_path: Path) -> None:
    with Store.open(tmp_path / "deploytool.db") as store:
        make_pool(store)
        entry = write_flow(tmp_path, "print('scheduled run')")
        # 02:30 Berlin does not exist on 2030-03-31: the run is at 03:30 CEST = 01:30 UTC.
        deployment = make_deployment(
            store, tmp_path, entry, schedules=[{"cron": "30 2 * * *", "timezone": "Europe/Berlin"}]
        )
        w = worker(store)
        w.tick(T0)
        upcoming = store.runs.list(state=RunState.SCHEDULED, deployment_id=deployment.id, limit=10)
        times = sorted(r.scheduled_time for r in upcoming)
        assert times[0] == datetime(2030, 3, 31, 1, 30, tzinfo=UTC)
        assert times[1] == datetime(2030, 4, 1, 0, 30, tzinfo=UTC)  # 02:30 CEST

        # Not due yet at T0: nothing is claimed.
        assert store.runs.list(state=[RunState.PENDING, RunState.RUNNING], limit=10) == []

        # The clock moves past the first slot: the worker claims that run (and only that one) and runs it.
        later = times[0] + timedelta(seconds=1)
        first = next(r for r in upcoming if r.scheduled_time == times[0])
        tick_until(w, lambda: store.runs.get(first.id).state is RunState.COMPLETED, now=lambda: later)
        assert store.runs.get(first.id).state is RunState.COMPLETED
        assert any("scheduled run" in line.message for line in store.logs.read(first.id))
        rest = [r for r in upcoming if r.id != first.id]
        assert all(store.runs.get(r.id).state is RunState.SCHEDULED for r in rest)
        w.close(later)
