"""`deploytool worker prune` against the real Docker daemon: it removes the ended containers of finished runs
(what `auto_remove: false`, or an older deploytool, left) and nothing else."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from deploytool.cli.entry import main
from deploytool.jobvars import default_base_job_template
from deploytool.models import Deployment, FlowRun, RunState, WorkPool, utcnow
from deploytool.settings import Settings
from deploytool.store import Store
from tests.docker_support import DockerJanitor


def _run(store: Store, state: RunState) -> FlowRun:
    run = store.runs.create(
        FlowRun(
            deployment_id=store.deployments.get_by_name("f", "d").id,
            flow_name="f",
            deployment_name="d",
            pool_name="dp",
            name=f"r-{uuid.uuid4().hex[:6]}",
            scheduled_time=utcnow(),
        )
    )
    if state is RunState.SCHEDULED:
        return run
    store.runs.set_state(run.id, RunState.PENDING, worker_name="w1")
    store.runs.set_state(run.id, RunState.RUNNING)
    if state is not RunState.RUNNING:
        store.runs.set_state(run.id, state, "done")
    return store.runs.get(run.id)


def _container(
    client: Any, janitor: DockerJanitor, image: str, labels: dict[str, str], run_id: str, pool: str, *, running: bool
) -> str:
    all_labels = {**labels, "org.deploytool.run-id": run_id, "org.deploytool.pool": pool}
    container = client.containers.create(image, ["sleep", "300"] if running else ["true"], labels=all_labels)
    janitor.container(container.id)
    container.start()
    if not running:
        container.wait(timeout=120)
    return str(container.id)


def _exists(client: Any, container_id: str) -> bool:
    import docker.errors

    try:
        client.containers.get(container_id)
    except docker.errors.NotFound:
        return False
    return True


def test_prune_removes_ended_containers_of_finished_runs_only(
    base_image: str,
    docker_client: Any,
    docker_janitor: DockerJanitor,
    docker_labels: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    pool = f"prune-{uuid.uuid4().hex[:8]}"
    with Store.open(Settings.from_env().db_path) as store:
        store.pools.create(WorkPool("dp", "docker", default_base_job_template("docker")))
        store.deployments.upsert(Deployment(flow_name="f", name="d", entrypoint="f.py:f", pool_name="dp"))
        done, failed, active = (
            _run(store, RunState.COMPLETED),
            _run(store, RunState.FAILED),
            _run(store, RunState.RUNNING),
        )
    make = lambda run_id, running=False: _container(  # noqa: E731
        docker_client, docker_janitor, base_image, docker_labels, run_id, pool, running=running
    )
    finished = [make(done.id), make(failed.id)]
    still_owned = make(active.id)  # ended, but its run is RUNNING: a worker is about to read it
    running = make(done.id, running=True)  # never touched while it runs
    stranger = make(uuid.uuid4().hex)  # a run this store does not know

    assert main(["worker", "prune", "--pool", pool, "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("would remove container") == 2
    assert all(_exists(docker_client, c) for c in [*finished, still_owned, running, stranger])

    assert main(["worker", "prune", "--pool", pool, "--older-than", "1h"]) == 0  # they finished just now
    assert "Removed 0 container(s); left alone:" in capsys.readouterr().err

    assert main(["worker", "prune", "--pool", pool]) == 0
    captured = capsys.readouterr()
    assert "run COMPLETED" in captured.out and "run FAILED" in captured.out
    assert "Removed 2 container(s); left alone: 1 run RUNNING, 1 run not in this store, 1 running." in captured.err
    assert not any(_exists(docker_client, c) for c in finished)
    assert all(_exists(docker_client, c) for c in [still_owned, running, stranger])

    assert main(["worker", "prune", "--pool", pool, "--unknown", "--output", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert [item["container_id"] for item in data["removed"]] == [stranger]
    assert not _exists(docker_client, stranger) and _exists(docker_client, running)


def test_prune_refuses_a_bad_age(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["worker", "prune", "--older-than", "soon"]) == 1
    err = capsys.readouterr().err
    assert "--older-than 'soon': not a duration" in err and "24h" in err


def test_new_docker_pools_remove_containers_of_finished_runs_by_default() -> None:
    auto_remove = default_base_job_template("docker")["variables"]["properties"]["auto_remove"]
    assert auto_remove["default"] is True
