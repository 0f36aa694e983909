"""Prefect's spellings (issue #15 item 7): `deployment run`, `flow-run delete`, `run DEPLOYMENT` by its unique
name, and did-you-mean among the flows, deployments and pools that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploytool.core.pools import missing_pool
from deploytool.models import LogLine, RunState, utcnow
from tests.cli.cli_helpers import CLI, add_etl_daily, open_store
from tests.core.helpers import add_deployment


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CLI:
    add_etl_daily()
    return CLI(capsys, monkeypatch)


def test_deployment_run_is_run(cli: CLI) -> None:
    result = cli("deployment", "run", "etl/daily", "-p", "count=2", "-o", "json")
    assert result.code == 0, result.err
    data = result.json()["data"]
    assert data["deployment"] == "etl/daily" and data["new"] is True
    with open_store() as store:
        assert store.runs.get(data["id"]).parameters == {"count": 2}
    assert "Created flow run" in cli("deployment", "run", "etl/daily", "-p", "count=1").out


def test_run_by_a_unique_deployment_name(cli: CLI) -> None:
    created = cli("run", "daily", "-p", "count=1", "-o", "json")
    assert created.code == 0, created.err
    assert created.json()["data"]["deployment"] == "etl/daily"
    with open_store() as store:
        add_deployment(store, "daily", flow_name="report")
    ambiguous = cli("run", "daily", "-p", "count=1")
    assert ambiguous.code == 1
    assert "deployment name 'daily' is used by 2 flows: etl/daily, report/daily" in ambiguous.err


def test_mistyped_names_get_a_did_you_mean_among_existing_ones(cli: CLI) -> None:
    typo = cli("run", "etl/dialy", "-p", "count=1")
    assert typo.code == 1 and "did you mean 'etl/daily'?" in typo.err
    flow_typo = cli("run", "elt/daily", "-p", "count=1")
    assert flow_typo.code == 1 and "did you mean 'etl/daily'?" in flow_typo.err
    pool = cli("work-pool", "inspect", "lcoal")
    assert pool.code == 1 and "work pool 'lcoal' not found" in pool.err
    assert "did you mean 'local'? Or create it: deploytool work-pool create lcoal --type process" in pool.err
    assert "did you mean 'local'?" in cli("flow-run", "ls", "--pool", "locl").err


def test_a_missing_pool_is_suggested_with_the_type_its_deployment_needs(cli: CLI, tmp_path: Path) -> None:
    with open_store() as store:
        assert missing_pool(store, "builds", {"image": "x:1"}).hint == (
            "create it: deploytool work-pool create builds --type docker"
        )
        jobs = missing_pool(store, "jobs", {"env": {}})
        assert jobs.hint == "create it: deploytool work-pool create jobs --type process"
    (tmp_path / "flows.py").write_text("from deploytool import flow\n\n\n@flow\ndef etl():\n    pass\n")
    (tmp_path / "deploy.yaml").write_text(
        "deployments:\n  - name: img\n    entrypoint: flows.py:etl\n"
        "    work_pool: {name: images, job_variables: {image: 'python:3.11'}}\n"
    )
    result = cli("deploy", "--file", str(tmp_path / "deploy.yaml"))
    assert result.code == 1 and "deploytool work-pool create images --type docker" in result.err, result.err


def test_flow_run_delete_removes_a_scheduled_or_finished_run_and_its_logs(cli: CLI) -> None:
    created = cli("run", "etl/daily", "-p", "count=1", "-o", "json").json()["data"]
    with open_store() as store:
        store.logs.append(created["id"], [LogLine(created["id"], utcnow(), "INFO", "worker", "hello")])
    deleted = cli("flow-run", "delete", created["id"][:8])
    assert deleted.code == 0, deleted.err
    assert f"Deleted flow run {created['name']} ({created['id']}), SCHEDULED, and its logs." in deleted.out
    with open_store() as store:
        assert store.runs.list() == [] and store.logs.read(created["id"]) == []
    assert cli("flow-run", "delete", created["id"]).code == 1


def test_flow_run_delete_refuses_a_run_a_worker_holds(cli: CLI) -> None:
    run_id = cli("run", "etl/daily", "-p", "count=1", "-o", "json").json()["data"]["id"]
    with open_store() as store:
        store.workers.heartbeat("w1", "local", "host", 1, utcnow())
        assert store.runs.claim_next("local", None, "w1", 30, utcnow()) is not None
        store.runs.set_state(run_id, RunState.RUNNING, expect_worker="w1")
    refused = cli("flow-run", "delete", run_id, "-o", "json")
    assert refused.code == 1
    error = refused.json()["errors"][0]
    assert "is RUNNING" in error["message"] and f"deploytool flow-run cancel {run_id[:8]}" in error["hint"]
    with open_store() as store:
        assert store.runs.get(run_id).state is RunState.RUNNING
