"""A pool's status follows its workers' status (deploytool.store.worker_status, the rule of `worker ls`): a pool
whose only worker died is NOT_READY as soon as that worker is stale, not after Prefect's 90 s, in every view
(`work-pool ls/inspect`, `work-queue ls`, `flow-run why`, `run`, the dashboard's page and API), which all say why
in the same words. docs/work-pools.md, "Status".

Real worker processes on each backend: one killed with SIGKILL (stale at once on its own host), one stopped with
SIGSTOP (its process lives but its heartbeats stop: stale one lease after the last, its own lease when it beats
less often than the default, judged at times the test gives, then READY again once it beats after SIGCONT).
Every view judges at the store's clock, the one the heartbeats are written by: on PostgreSQL, a viewer whose own
clock is off by an hour sees what `work-pool ls` on the worker's host sees.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from deploytool.cli import pool_cmds
from deploytool.core.dashboard import pools
from deploytool.core.pool_listing import inspect_pool, list_pools
from deploytool.core.watch import PoolEvent, StateEvent, watch_run
from deploytool.core.why import explain
from deploytool.models import PoolStatus, RunState
from deploytool.store import Store
from deploytool.ui.app import create_app
from deploytool.ui.config import from_env
from deploytool.worker.listing import list_workers
from tests.reliability.helpers import WAIT, Workers
from tests.store import pg_cluster as pg
from tests.store.helpers import deploytool
from tests.worker.helpers import make_deployment, make_pool, queue_run, wait_for


def _cli(env: dict[str, str], *args: str) -> str:
    done = deploytool(*args, env=env)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


def _views(url: str, home: Path, run_id: str) -> dict[str, Any]:
    """What each view says of pool `p` now."""
    env = {"DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(home)}
    config, _ = from_env(env)
    with TestClient(create_app(config), base_url="http://127.0.0.1:4200") as client:
        api = client.get("/api/v1/work-pools").json()
        page = client.get("/work-pools").text
    return {
        "work-pool ls": _cli(env, "work-pool", "ls"),
        "work-pool ls json": json.loads(_cli(env, "work-pool", "ls", "-o", "json"))["data"],
        "work-pool inspect": _cli(env, "work-pool", "inspect", "p"),
        "work-pool inspect json": json.loads(_cli(env, "work-pool", "inspect", "p", "-o", "json"))["data"],
        "work-queue ls json": json.loads(_cli(env, "work-queue", "ls", "--pool", "p", "-o", "json"))["data"],
        "worker ls json": json.loads(_cli(env, "worker", "ls", "--pool", "p", "-o", "json"))["data"],
        "why": _cli(env, "flow-run", "why", run_id),
        "why json": json.loads(_cli(env, "flow-run", "why", run_id, "-o", "json"))["data"],
        "api": api,
        "page": page,
    }


def test_a_pool_whose_only_worker_was_killed_is_not_ready_at_once_in_every_view(
    store_url: str, workers: Workers, tmp_path: Path, project: Path
) -> None:
    with Store.open(store_url) as store:
        proc = workers.start("w1", store_url)
        wait_for(lambda: store.workers.pool_status("p", store.now()) is PoolStatus.READY, WAIT)
        proc.send_signal(signal.SIGKILL)  # its heartbeat is seconds old, far within Prefect's 90 s
        proc.wait()
        run = queue_run(store, make_deployment(store, project, "flow.py:main"))
        assert store.workers.pool_status("p", store.now()) is PoolStatus.NOT_READY
    said = f"worker w1 on {socket.gethostname()} is stale: its process (pid {proc.pid}) is gone"

    views = _views(store_url, tmp_path / "viewer", run.id)
    assert f"pool p is NOT_READY: {said}" in views["work-pool ls"]
    assert [(p["status"], p["problem"]) for p in views["work-pool ls json"]] == [("NOT_READY", said)]
    assert f"status: NOT_READY ({said})" in views["work-pool inspect"]
    assert (views["work-pool inspect json"]["status"], views["work-pool inspect json"]["problem"]) == (
        "NOT_READY",
        said,
    )
    assert [w["status"] for w in views["work-pool inspect json"]["workers"]] == ["stale"]
    assert [q["status"] for q in views["work-queue ls json"]] == ["NOT_READY"]
    assert [w["status"] for w in views["worker ls json"]] == ["stale"]  # the same rule, the same moment
    assert f"(NOT_READY; {said})" in views["why"]
    assert views["why json"]["verdict"] == "no_worker" and said in views["why json"]["summary"]
    assert [(p["status"], p["status_reason"]) for p in views["api"]] == [("NOT_READY", said)]
    assert "NOT_READY" in views["page"] and str(escape(said)) in views["page"]

    env = {"DEPLOYTOOL_STORE_URL": store_url, "DEPLOYTOOL_HOME": str(tmp_path / "viewer")}
    submitted = deploytool("run", "f/d", env=env)  # `run` warns that nobody will take it, saying why
    assert submitted.returncode == 0 and f"pool p is NOT_READY: {said}" in submitted.stderr, submitted.stderr


@pytest.mark.parametrize(("options", "lease"), [((), 15), (("--heartbeat-seconds", "10"), 30)])
def test_a_pool_whose_worker_stops_beating_is_not_ready_one_lease_after_its_last_heartbeat(
    store_url: str, workers: Workers, project: Path, options: tuple[str, ...], lease: int
) -> None:
    with Store.open(store_url) as store:
        proc = workers.start("w1", store_url, *options)
        wait_for(lambda: store.workers.pool_status("p", store.now()) is PoolStatus.READY, WAIT)
        os.kill(proc.pid, signal.SIGSTOP)  # alive, but beats no more (a hung process, a frozen machine)
        try:
            [beat] = store.workers.list("p")
            run = queue_run(store, make_deployment(store, project, "flow.py:main"))
            at = beat.last_heartbeat
            host = socket.gethostname()

            def seen(seconds: float) -> tuple[PoolStatus, str | None, str, str, str, str]:
                now = at + timedelta(seconds=seconds)
                [summary] = list_pools(store, now)
                [row] = pools(store, now)
                [listed] = list_workers(store, "p", now)  # `worker ls`
                assert inspect_pool(store, "p", now).summary == summary
                why = explain(store, run.id, now)
                return summary.status, summary.problem, row.status_reason, listed["status"], why.verdict, why.summary

            ready = (PoolStatus.READY, None, "a worker sent a heartbeat recently", "online", "eligible")
            assert seen(lease)[:5] == ready
            said = f"worker w1 on {host} is stale: its last heartbeat was {lease + 1} s ago"
            status, problem, reason, listed, verdict, why = seen(lease + 1)  # its own lease without a heartbeat
            assert (status, problem, reason, listed, verdict) == (
                PoolStatus.NOT_READY,
                said,
                said,
                "stale",
                "no_worker",
            )
            assert f"(NOT_READY; {said})" in why
            assert seen(91)[1] == f"worker w1 on {host} is offline: its last heartbeat was 91 s ago"
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        # It beats again: READY again.
        wait_for(lambda: store.workers.list("p")[0].last_heartbeat > at, WAIT)
        assert store.workers.pool_status("p", store.now()) is PoolStatus.READY


# --- a viewer whose clock is off -----------------------------------------------------------------------------

SKEW = timedelta(hours=1)


class _AnHourAhead(datetime):
    """`datetime` on a machine whose clock is an hour ahead: deploytool.models.utcnow reads it."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + SKEW


class _Stop(Exception):
    """Ends a watch after its first pass."""


def _stop(seconds: float) -> None:
    raise _Stop


def test_a_viewer_whose_clock_is_off_judges_pools_by_the_store_s_clock(
    cluster: pg.Cluster,
    workers: Workers,
    tmp_path: Path,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # PostgreSQL only: on SQLite every process shares the machine's clock, the store's.
    url = cluster.fresh_database()
    with Store.open(url) as store:
        make_pool(store)
    workers.start("w1", url)  # its host's clock is right: it beats at the server's time
    monkeypatch.setattr("deploytool.models.datetime", _AnHourAhead)  # this host's clock is an hour ahead
    with Store.open(url) as store:
        wait_for(lambda: store.workers.pool_status("p", store.now()) is PoolStatus.READY, WAIT)
        deployment = make_deployment(store, project, "flow.py:main")
        run = queue_run(store, deployment, scheduled_time=store.now() + timedelta(hours=2))  # nobody claims it
        assert abs(store.now() - datetime.now(UTC)) < SKEW / 2  # the store's clock is the server's, not ours
        events: list[object] = []
        with pytest.raises(_Stop):
            for event in watch_run(store, run.id, pool_grace_seconds=0, sleep=_stop):  # `run --watch`
                events.append(event)
        assert [type(e) for e in events] == [StateEvent]  # no "pool p is NOT_READY: ... offline" notice
        assert not [e for e in events if isinstance(e, PoolEvent)]

    env = {"DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(tmp_path / "viewer")}
    config, _ = from_env(env)
    with TestClient(create_app(config), base_url="http://127.0.0.1:4200") as client:
        overview = client.get("/api/v1/overview").json()
        page = client.get("/").text
        deployment_page = client.get("/api/v1/deployments/f/d").json()
        run_page = client.get(f"/api/v1/flow-runs/{run.id}").json()
        pools_page = client.get("/api/v1/work-pools").json()
    assert [(p["name"], p["status"], p["problem"]) for p in overview["work_pools"]] == [("p", "READY", None)]
    assert "NOT_READY" not in page and "READY" in page
    assert deployment_page["pool_status"] == "READY"
    assert [r["code"] for r in run_page["why"]["reasons"]] == ["not_due"]  # not "no_worker"
    assert [p["status"] for p in pools_page] == ["READY"]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pool_cmds.resume("p")  # `work-pool resume p`, on this host
    assert "(status READY)" in capsys.readouterr().out
    # ... as `work-pool ls` says it on a host whose clock is right
    assert [p["status"] for p in json.loads(_cli(env, "work-pool", "ls", "-o", "json"))["data"]] == ["READY"]


def test_a_viewer_whose_clock_is_ahead_sees_a_new_or_retried_run_due_now_not_late(
    cluster: pg.Cluster,
    tmp_path: Path,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A run is scheduled by the store's clock; `run`, `flow-run retry` and the dashboard's API say when it is due
    by that clock too, not by this host's (an hour ahead here: every new run would say LATE)."""
    from deploytool.cli.entry import main

    url = cluster.fresh_database()
    with Store.open(url) as store:
        make_pool(store)
        make_deployment(store, project, "flow.py:main")
    monkeypatch.setattr("deploytool.models.datetime", _AnHourAhead)
    env = {"DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(tmp_path / "viewer")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert main(["run", "f/d"]) == 0
    assert ", scheduled now." in capsys.readouterr().out
    assert main(["run", "f/d", "-o", "json"]) == 0
    created = json.loads(capsys.readouterr().out)["data"]
    assert created["label"] == "SCHEDULED"
    with Store.open(url) as store:
        store.runs.set_state(created["id"], RunState.CANCELLED, "cancelled by a test")
    assert main(["flow-run", "retry", created["id"], "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["label"] == "SCHEDULED"

    with TestClient(create_app(from_env(env)[0]), base_url="http://127.0.0.1:4200") as client:
        submitted = client.post("/api/v1/deployments/f/d/runs", json={})
        assert submitted.status_code == 201, submitted.text
        assert submitted.json()["label"] == "SCHEDULED"
        with Store.open(url) as store:
            store.runs.set_state(submitted.json()["id"], RunState.CANCELLED, "cancelled by a test")
        retried = client.post(f"/api/v1/flow-runs/{submitted.json()['id']}/retry", json={})
        assert retried.status_code == 200, retried.text
        assert retried.json()["label"] == "SCHEDULED"
