"""`flow-run why` (deploytool.core.why) and `flow-run retry` (core.runs.retry_run), against a real store, and
both commands through the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deploytool import crashretry
from deploytool.core.runs import retry_run
from deploytool.core.why import explain
from deploytool.errors import ConflictError
from deploytool.models import Deployment, FlowRun, RunState
from deploytool.store import Store
from tests.cli.cli_helpers import CLI, open_store
from tests.core.helpers import add_local_pool

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _deployment(store: Store, name: str = "daily", **fields: Any) -> Deployment:
    stored, _ = store.deployments.upsert(Deployment("etl", name, "flows.py:etl", "local", **fields))
    return stored


def _run(store: Store, deployment: Deployment, at: datetime = NOW, name: str = "") -> FlowRun:
    run = FlowRun(deployment.flow_name, deployment.name, "local", deployment.id, name=name, scheduled_time=at)
    return store.runs.create(run)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "deploytool.db") as s:
        add_local_pool(s)
        yield s


def _beat(store: Store, at: datetime = NOW) -> None:
    store.workers.heartbeat("w1", "local", "host", 1, at)


def _codes(data: dict[str, Any]) -> list[str]:
    return [r["code"] for r in data["reasons"] if r["blocking"]]


def test_not_due_and_no_worker_are_both_said(store: Store) -> None:
    run = _run(store, _deployment(store), at=NOW + timedelta(minutes=5))
    data = explain(store, run.id, now=NOW).to_dict()
    assert _codes(data) == ["not_due", "no_worker"]
    assert data["verdict"] == "not_due"
    assert "in 300s" in str(data["summary"]) and "no worker has ever polled it" in str(data["summary"])
    assert "deploytool worker start --pool local" in str(data["summary"])


def test_a_worker_that_stopped_beating_is_named_with_its_last_heartbeat(store: Store) -> None:
    _beat(store, NOW - timedelta(minutes=10))
    run = _run(store, _deployment(store))
    data = explain(store, run.id, now=NOW).to_dict()
    assert _codes(data) == ["no_worker"]
    assert "worker w1 on host is offline: its last heartbeat was 10 min ago" in str(data["summary"])


def test_a_stale_worker_leaves_the_run_waiting_well_before_prefects_90_s(store: Store) -> None:
    _beat(store, NOW - timedelta(seconds=20))  # more than a lease (15 s): stale, as `worker ls` says
    run = _run(store, _deployment(store))
    data = explain(store, run.id, now=NOW).to_dict()
    assert _codes(data) == ["no_worker"]
    assert "(NOT_READY; worker w1 on host is stale: its last heartbeat was 20 s ago)" in str(data["summary"])


def test_a_due_run_with_a_worker_is_eligible(store: Store) -> None:
    _beat(store)
    run = _run(store, _deployment(store))
    data = explain(store, run.id, now=NOW).to_dict()
    assert data["verdict"] == "eligible" and data["reasons"] == []
    assert "should claim it within its poll interval" in str(data["summary"])


def test_paused_pool_and_queue(store: Store) -> None:
    _beat(store)
    run = _run(store, _deployment(store))
    store.queues.update("local", "default", paused=True)
    assert _codes(explain(store, run.id, now=NOW).to_dict()) == ["queue_paused"]
    store.pools.update("local", paused=True)
    assert _codes(explain(store, run.id, now=NOW).to_dict()) == ["pool_paused", "queue_paused"]


def test_a_paused_deployment_is_a_note_not_a_blocker(store: Store) -> None:
    _beat(store)
    deployment = _deployment(store)
    store.deployments.set_paused(deployment.id, True)
    data = explain(store, _run(store, deployment).id, now=NOW).to_dict()
    assert data["verdict"] == "eligible"
    assert [r["code"] for r in data["reasons"]] == ["deployment_paused"]


@pytest.mark.parametrize("limit_on", ["pool", "queue", "deployment"])
def test_a_full_limit_names_the_runs_holding_it(store: Store, limit_on: str) -> None:
    _beat(store)
    limited: dict[str, Any] = (
        {"concurrency_limit": {"limit": 1, "collision_strategy": "ENQUEUE"}} if limit_on == "deployment" else {}
    )
    deployment = _deployment(store, **limited)
    if limit_on == "pool":
        store.pools.update("local", concurrency_limit=1)
    elif limit_on == "queue":
        store.queues.update("local", "default", concurrency_limit=1)
    holder = _run(store, deployment, at=NOW - timedelta(seconds=5), name="the-holder")
    assert store.runs.claim_next("local", None, "w1", 30, NOW) is not None
    waiting = _run(store, deployment)
    data = explain(store, waiting.id, now=NOW).to_dict()
    assert _codes(data) == [f"{limit_on}_limit"]
    (reason,) = data["reasons"]
    assert reason["held_by"] == [{"id": holder.id, "name": "the-holder", "state": "PENDING", "worker": "w1"}]
    assert "the-holder (PENDING" in reason["message"] and "concurrency limit 1" in reason["message"]


def test_claimed_running_and_finished_runs(store: Store) -> None:
    _beat(store)
    run = _run(store, _deployment(store, crash_retries=crashretry.normalise(1)))
    store.runs.claim_next("local", None, "w1", 30, NOW)
    data = explain(store, run.id, now=NOW).to_dict()
    assert (
        data["verdict"] == "claimed" and "worker 'w1'" in str(data["summary"]) and "lease until" in str(data["summary"])
    )
    store.runs.set_state(run.id, RunState.RUNNING, now=NOW)
    assert "lease expired" in explain(store, run.id, now=NOW + timedelta(minutes=5)).summary
    store.runs.set_state(run.id, RunState.CRASHED, "boom", now=NOW)
    store.runs.retry(run.id, "again", now=NOW)
    store.runs.claim_next("local", None, "w1", 30, NOW)
    store.runs.set_state(run.id, RunState.RUNNING, now=NOW)
    store.runs.set_state(run.id, RunState.CRASHED, "boom again", now=NOW)
    data = explain(store, run.id, now=NOW).to_dict()
    assert data["verdict"] == "finished" and "finished CRASHED" in str(data["summary"])
    assert "boom again" in str(data["summary"]) and "flow-run retry" in str(data["summary"])
    assert [r["code"] for r in data["reasons"]] == ["crash_retries_used"]


def test_retry_queues_a_finished_run_and_refuses_active_ones(store: Store) -> None:
    run = _run(store, _deployment(store))
    with pytest.raises(ConflictError, match="only a finished run can be retried") as err:
        retry_run(store, run.id)
    assert err.value.hint is not None and "already queued" in err.value.hint
    store.runs.claim_next("local", None, "w1", 30, NOW)
    store.runs.set_state(run.id, RunState.RUNNING, now=NOW)
    with pytest.raises(ConflictError, match="is RUNNING") as err:
        retry_run(store, run.id)
    assert err.value.hint is not None and "flow-run cancel" in err.value.hint
    store.runs.set_state(run.id, RunState.COMPLETED)
    for attempt, state in enumerate((RunState.FAILED, RunState.CRASHED, RunState.CANCELLED), start=2):
        again = retry_run(store, run.id[:8])
        assert (again.state, again.attempt) == (RunState.SCHEDULED, attempt)
        assert again.state_message is not None and "retried by the user" in again.state_message
        if state is not RunState.CANCELLED:
            store.runs.claim_next("local", None, "w1", 30, NOW + timedelta(days=1))
            store.runs.set_state(run.id, RunState.RUNNING)
        store.runs.set_state(run.id, state)
    assert retry_run(store, run.id).attempt == 5


# --- through the CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CLI:
    with open_store() as s:
        add_local_pool(s)
        _deployment(s)
    return CLI(capsys, monkeypatch)


def test_cli_why_and_retry(cli: CLI) -> None:
    with open_store() as s:
        run = _run(s, s.deployments.list()[0], at=datetime.now(UTC) + timedelta(hours=1))
    text = cli("flow-run", "why", run.id[:8])
    assert text.code == 0, text.err
    assert "waiting:" in text.out and "not due yet" in text.out and "no worker is polling pool 'local'" in text.out
    data = cli("flow-run", "why", run.id, "--output", "json").json()["data"]
    assert data["verdict"] == "not_due" and data["state"] == "SCHEDULED"
    refused = cli("flow-run", "retry", run.id)
    assert refused.code == 1 and "only a finished run can be retried" in refused.err
    with open_store() as s:
        s.runs.set_state(run.id, RunState.CANCELLED, "by hand")
    done = cli("flow-run", "why", run.id)
    assert "finished CANCELLED" in done.out
    retried = cli("flow-run", "retry", run.id, "--output", "json")
    assert retried.code == 0, retried.err
    assert (retried.json()["data"]["state"], retried.json()["data"]["attempt"]) == ("SCHEDULED", 2)
