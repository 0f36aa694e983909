"""`deploytool worker start` and `worker ls` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from deploytool.models import RunState, utcnow
from deploytool.store import Store
from tests.worker.helpers import make_deployment, make_pool, queue_run, write_flow

MAIN = Path(__file__).with_name("worker_main.py")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(MAIN), *args], capture_output=True, text=True, timeout=60)


def test_a_missing_pool_is_an_error_with_a_hint() -> None:
    result = cli("worker", "start", "--pool", "nope")
    assert result.returncode == 1
    assert "work pool 'nope' not found" in result.stderr
    assert "--type process" in result.stderr


def test_type_creates_the_pool_and_run_once_runs_what_is_due(isolated_home: Path, tmp_path: Path) -> None:
    result = cli("worker", "start", "--pool", "fresh", "--type", "process", "--run-once")
    assert result.returncode == 0, result.stderr
    assert "Created work pool 'fresh' (process)" in result.stderr
    with Store.open(isolated_home / "deploytool.db") as store:
        assert store.pools.get("fresh").type == "process"
        deployment = make_deployment(store, tmp_path, write_flow(tmp_path, "print('hi')"), pool="fresh")
        run = queue_run(store, deployment)
    result = cli("worker", "start", "--pool", "fresh", "--type", "process", "--run-once", "--name", "once")
    assert result.returncode == 0, result.stderr
    with Store.open(isolated_home / "deploytool.db") as store:
        assert store.runs.get(run.id).state is RunState.COMPLETED
    wrong = cli("worker", "start", "--pool", "fresh", "--type", "docker")
    assert wrong.returncode == 1 and "is of type 'process', not 'docker'" in wrong.stderr


def test_a_worker_serves_a_docker_pool(isolated_home: Path) -> None:
    from deploytool import jobvars
    from deploytool.models import WorkPool

    with Store.open(isolated_home / "deploytool.db") as store:
        store.pools.create(WorkPool("d", "docker", base_job_template=jobvars.default_base_job_template("docker")))
    result = cli("worker", "start", "--pool", "d", "--run-once")
    assert result.returncode == 0, result.stderr


def test_worker_ls_shows_workers_and_their_runs(isolated_home: Path, tmp_path: Path) -> None:
    with Store.open(isolated_home / "deploytool.db") as store:
        make_pool(store)
        run = queue_run(store, make_deployment(store, tmp_path, "flow.py:main"))
        store.workers.heartbeat("w9", "p", "box", 4242, utcnow())
        store.runs.claim_next("p", None, "w9", 30, utcnow())
    result = cli("worker", "ls", "--pool", "p", "--output", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert [(w["name"], w["host"], w["pid"], w["online"]) for w in data] == [("w9", "box", 4242, True)]
    assert data[0]["runs"] == [{"id": run.id, "name": run.name, "state": "PENDING"}]
    text = cli("worker", "ls")
    assert "w9" in text.stdout and "online" in text.stdout
    missing = cli("worker", "ls", "--pool", "nope", "--output", "json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["ok"] is False


def test_a_second_worker_under_a_live_workers_name_is_refused_and_leaves_it_alone(isolated_home: Path) -> None:
    import os
    import socket

    with Store.open(isolated_home / "deploytool.db") as store:
        make_pool(store)
        store.workers.heartbeat("twin", "p", socket.gethostname(), os.getpid(), utcnow())  # this test is alive
    result = cli("worker", "start", "--pool", "p", "--name", "twin", "--run-once")
    assert result.returncode == 1
    assert f"a worker named 'twin' is already serving pool 'p' (pid {os.getpid()}" in result.stderr
    assert "another --name" in result.stderr and "Traceback" not in result.stderr
    with Store.open(isolated_home / "deploytool.db") as store:
        assert [w.pid for w in store.workers.list("p")] == [os.getpid()]  # not deregistered by the refused one
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        store.workers.heartbeat("twin", "p", socket.gethostname(), int(dead.stdout), utcnow())
    restarted = cli("worker", "start", "--pool", "p", "--name", "twin", "--run-once")  # after a kill -9: fine
    assert restarted.returncode == 0, restarted.stderr


def test_a_worker_warns_when_it_will_claim_nothing(isolated_home: Path) -> None:
    with Store.open(isolated_home / "deploytool.db") as store:
        make_pool(store)
        store.pools.update("p", paused=True)
    result = cli("worker", "start", "--pool", "p", "-q", "default", "-q", "nightly", "--run-once")
    assert result.returncode == 0, result.stderr
    assert "work pool 'p' is paused: no run is claimed until: deploytool work-pool resume p" in result.stderr
    assert "work queue 'nightly' does not exist in pool 'p' (its queues: default)" in result.stderr
    assert "work queue 'default'" not in result.stderr


def test_nan_or_infinite_timings_are_usage_errors_not_internal_errors(isolated_home: Path) -> None:
    with Store.open(isolated_home / "deploytool.db") as store:
        make_pool(store)
    for option, value in (("--heartbeat-seconds", "nan"), ("--shutdown-grace", "inf")):
        result = cli("worker", "start", "--pool", "p", option, value, "--run-once")
        assert result.returncode == 1
        assert f"Error: {option} must be a finite number of seconds, not {value}" in result.stderr
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr
