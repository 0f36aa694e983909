"""The worker on a docker pool, against the real daemon: deploy, run, cancel, crash, bad images, slow pulls,
and reconciliation after a worker is killed with SIGKILL (its containers survive it).

The flows run in an image built once per session FROM the local base image with a wheel of this checkout
installed offline (tests.infra.helpers.flows_image). Every container carries the session's labels.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploytool.infra import docker_api
from deploytool.models import TERMINAL, Deployment, FlowRun, RunState
from deploytool.store import Store
from deploytool.worker.loop import Worker
from tests.infra.helpers import containers_of, docker_deployment, docker_store, flows_image
from tests.store.helpers import deploytool
from tests.worker.helpers import FAST, log_text, queue_run, state_of, tick_until, wait_for
from tests.worker.helpers import worker as make_worker
from tests.worker_support import WORKER_MAIN, start_worker

REPO = Path(__file__).resolve().parents[2]
POOL = "dp"

FLOWS = """
import os
import time

from deploytool import flow


@flow(name="hello")
def hello(name: str = "world"):
    print(f"hello {name}")
    print(f"GREETING={os.environ.get('GREETING')}")
    return f"done {name}"


@flow(name="slow")
def slow(seconds: float = 600):
    print("sleeping", flush=True)
    time.sleep(seconds)
    print("woke up", flush=True)
"""


@pytest.fixture(scope="session")
def worker_image(
    docker_client: Any, base_image: str, docker_labels: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> str:
    context = tmp_path_factory.mktemp("worker-image")
    return flows_image(docker_client, base_image, docker_labels, context, FLOWS, "docker-worker")


@pytest.fixture
def store(isolated_home: Path) -> Iterator[Store]:
    with docker_store(isolated_home, POOL) as opened:
        yield opened


def deployment(store: Store, image: str, entry: str, labels: dict[str, str], **job_variables: Any) -> Deployment:
    return docker_deployment(store, POOL, image, entry, labels, **job_variables)


def docker_worker(store: Store, **options: Any) -> Any:
    return make_worker(store, pool=POOL, **options)


def finish(w: Any, store: Store, run_id: str, timeout: float = 60) -> None:
    tick_until(w, lambda: state_of(store, run_id) in TERMINAL and run_id not in w.active, timeout=timeout)


# --- through the CLI, as a user runs it -----------------------------------------------------------------


def cli(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return deploytool(*args, env={"DEPLOYTOOL_HOME": str(home)}, cwd=cwd)


def test_deploy_run_and_logs_of_a_flow_in_a_container_through_the_cli(
    isolated_home: Path, tmp_path: Path, worker_image: str, docker_labels: dict[str, str], docker_client: Any
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "flows.py").write_text(textwrap.dedent(FLOWS))
    labels = "".join(f"\n          {k}: '{v}'" for k, v in docker_labels.items())
    (project / "deploy.yaml").write_text(
        textwrap.dedent(
            f"""\
            deployments:
              - name: in-docker
                entrypoint: flows.py:hello
                work_pool:
                  name: {POOL}
                  job_variables:
                    image: {worker_image}
                    image_pull_policy: Never
                    auto_remove: true
                    env:
                      GREETING: from job_variables
                    labels:"""
        )
        + labels
        + "\n"
    )
    assert cli(isolated_home, "work-pool", "create", POOL, "--type", "docker").returncode == 0
    deployed = cli(isolated_home, "deploy", "--all", cwd=project)
    assert deployed.returncode == 0, deployed.stderr
    created = cli(isolated_home, "run", "hello/in-docker", "--param", "name=Ada")
    assert created.returncode == 0, created.stderr
    run_id = created.stdout.split("(")[1].split(")")[0]
    env = {**os.environ, "DEPLOYTOOL_HOME": str(isolated_home)}
    worker = subprocess.run(
        [sys.executable, str(WORKER_MAIN), "worker", "start", "--pool", POOL, "--run-once",
         "--heartbeat-seconds", "0.5"], env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stdout + worker.stderr
    logs = cli(isolated_home, "flow-run", "logs", run_id[:8]).stdout
    assert "hello Ada" in logs and "GREETING=from job_variables" in logs
    assert f"from image {worker_image}" in logs
    inspected = cli(isolated_home, "flow-run", "inspect", run_id[:8]).stdout
    assert "COMPLETED" in inspected
    short_id = logs.split("started container ")[1].split("(")[1].split(")")[0]
    assert f"infrastructure_id: {short_id}" in inspected  # the container's full id starts with it
    assert containers_of(docker_client, run_id) == []  # auto_remove: removed after its outcome was read


# --- states and messages ----------------------------------------------------------------------------------


def _sleeping(store: Store, image: str, labels: dict[str, str]) -> tuple[FlowRun, Worker]:
    """A run of `slow` (auto_remove) that has started: its worker ticked until the flow printed 'sleeping'."""
    run = queue_run(store, deployment(store, image, "slow", labels, auto_remove=True))
    w = docker_worker(store)
    w.register()
    tick_until(w, lambda: "sleeping" in log_text(store, run.id), timeout=60)
    return run, w


def test_cancel_stops_the_container_and_removes_it(
    store: Store, worker_image: str, docker_labels: dict[str, str], docker_client: Any
) -> None:
    run, w = _sleeping(store, worker_image, docker_labels)
    store.runs.set_state(run.id, RunState.CANCELLING, "cancel requested")
    finish(w, store, run.id)
    done = store.runs.get(run.id)
    assert done.state is RunState.CANCELLED, done.state_message
    assert "after it was asked to stop" in (done.state_message or "")
    assert containers_of(docker_client, run.id) == []
    w.close()


def test_a_container_killed_from_outside_crashes_the_run_and_says_it_was_not_oom(
    store: Store, worker_image: str, docker_labels: dict[str, str], docker_client: Any
) -> None:
    run, w = _sleeping(store, worker_image, docker_labels)
    docker_client.api.kill(containers_of(docker_client, run.id)[0]["Id"])
    finish(w, store, run.id)
    done = store.runs.get(run.id)
    assert done.state is RunState.CRASHED and done.exit_code == 137
    assert "killed by SIGKILL (exit code 137; not out of memory" in (done.state_message or "")
    w.close()


def test_never_with_a_missing_image_crashes_that_run_and_the_worker_goes_on(
    store: Store, worker_image: str, docker_labels: dict[str, str]
) -> None:
    missing = queue_run(store, deployment(store, f"deploytool-test/missing:{uuid.uuid4().hex[:8]}", "hello", {}))
    w = docker_worker(store)
    w.register()
    finish(w, store, missing.id)
    done = store.runs.get(missing.id)
    assert done.state is RunState.CRASHED
    assert "is not present locally and image_pull_policy is Never" in (done.state_message or "")
    assert "could not start the job" in log_text(store, missing.id)
    good = queue_run(store, deployment(store, worker_image, "hello", docker_labels, auto_remove=True))
    finish(w, store, good.id)
    assert state_of(store, good.id) is RunState.COMPLETED
    w.close()


def test_an_image_without_deploytool_is_named_in_the_crash_message(
    store: Store, base_image: str, docker_labels: dict[str, str]
) -> None:
    run = queue_run(store, deployment(store, base_image, "hello", docker_labels, auto_remove=True))
    w = docker_worker(store)
    w.register()
    finish(w, store, run.id)
    done = store.runs.get(run.id)
    message = done.state_message or ""
    assert done.state is RunState.CRASHED, message
    assert f"the image {base_image} does not contain deploytool" in message
    assert "job_variables.image" in message and "dockerfile: auto" in message
    assert "No module named 'deploytool'" in log_text(store, run.id)
    w.close()


# --- a slow image pull does not hold the loop -------------------------------------------------------------


def test_a_slow_pull_keeps_the_loop_beating_and_a_cancel_during_it_is_honoured(
    store: Store, worker_image: str, docker_labels: dict[str, str], docker_client: Any, monkeypatch: Any
) -> None:
    release = threading.Event()
    pulling = threading.Event()
    real = docker_api.ensure_image

    def slow_ensure_image(client: Any, plan: Any) -> None:
        pulling.set()
        release.wait(60)
        real(client, plan)

    monkeypatch.setattr("deploytool.infra.docker.ensure_image", slow_ensure_image)
    run = queue_run(store, deployment(store, worker_image, "slow", docker_labels))
    w = docker_worker(store)
    w.register()
    tick_until(w, pulling.is_set, timeout=20)
    first_beat = store.workers.list()[0].last_heartbeat
    lease = store.runs.get(run.id).lease_expires
    time.sleep(FAST["heartbeat_seconds"] * 2)
    w.tick()
    assert store.workers.list()[0].last_heartbeat > first_beat  # the loop went on while the image was "pulled"
    assert store.runs.get(run.id).lease_expires > lease  # and renewed the run's lease
    assert state_of(store, run.id) is RunState.RUNNING
    store.runs.set_state(run.id, RunState.CANCELLING, "cancel requested")
    finish(w, store, run.id, timeout=10)  # without waiting for the pull
    done = store.runs.get(run.id)
    assert done.state is RunState.CANCELLED and "while its job was starting" in (done.state_message or "")
    release.set()  # the pull ends; the container that appears after all is discarded by the starting thread
    starter = f"start-{run.id[:8]}"
    wait_for(lambda: not any(t.name == starter for t in threading.enumerate()), timeout=60)
    assert containers_of(docker_client, run.id) == []
    w.close()


# --- reconciliation ---------------------------------------------------------------------------------------


def start_worker_process(home: Path, name: str, log_file: Path) -> subprocess.Popen[bytes]:
    options = ("--heartbeat-seconds", "2", "--stop-grace", "1")
    return start_worker(name, *options, env={"DEPLOYTOOL_HOME": str(home)}, log=log_file, pool=POOL)


@pytest.mark.parametrize("exited", [False, True], ids=["still-running", "exited-meanwhile"])
def test_a_worker_killed_with_sigkill_and_started_again_reattaches_to_its_container(
    store: Store,
    isolated_home: Path,
    tmp_path: Path,
    worker_image: str,
    docker_labels: dict[str, str],
    docker_client: Any,
    exited: bool,
) -> None:
    seconds = 1 if exited else 8
    run = queue_run(
        store, deployment(store, worker_image, "slow", docker_labels, auto_remove=True), parameters={"seconds": seconds}
    )
    log_file = tmp_path / "worker.log"
    first = start_worker_process(isolated_home, "A", log_file)
    try:
        wait_for(lambda: "sleeping" in log_text(store, run.id), timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert state_of(store, run.id) is RunState.RUNNING  # the lease (6 s) has not expired yet
        if exited:  # the container ends while no worker watches it: its exit code and output wait for one
            container = containers_of(docker_client, run.id)[0]["Id"]
            wait_for(lambda: docker_client.containers.get(container).status == "exited", timeout=10)
        second = start_worker_process(isolated_home, "A", log_file)
        try:
            wait_for(lambda: state_of(store, run.id) in TERMINAL, timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    done = store.runs.get(run.id)
    logs = log_text(store, run.id)
    assert done.state is RunState.COMPLETED, (done.state_message, logs, log_file.read_text())
    assert "reattached to container" in logs
    assert logs.count("sleeping") == 1 and logs.count("woke up") == 1  # no line lost, none doubled


def test_the_container_of_a_run_recovered_as_crashed_by_another_worker_is_stopped(
    store: Store, worker_image: str, docker_labels: dict[str, str], docker_client: Any
) -> None:
    from datetime import timedelta

    from deploytool.models import utcnow

    # keep_failed_hours 0: removed too (kept by default: tests/infra/test_container_retention.py)
    job_variables = {"auto_remove": True, "keep_failed_hours": 0}
    run = queue_run(store, deployment(store, worker_image, "slow", docker_labels, **job_variables))
    a = docker_worker(store, name="A")
    a.register()
    tick_until(a, lambda: "sleeping" in log_text(store, run.id), timeout=60)
    # A stops ticking (as if it hung or died); B recovers A's expired lease: CRASHED, then reconciles.
    b = docker_worker(store, name="B")
    later = utcnow() + timedelta(seconds=60)
    b.register(later)
    done = store.runs.get(run.id)
    assert done.state is RunState.CRASHED, done.state_message
    wait_for(lambda: containers_of(docker_client, run.id) == [], timeout=30)
    assert "leftover container" in log_text(store, run.id)
    b.close(later)


# --- a daemon that does not answer (issue 13, item 2; docs/worker.md, "When the Docker daemon does not answer") --


def _worker_on(home: Path, docker_host: str, log_file: Path) -> subprocess.Popen[bytes]:
    env = {"DEPLOYTOOL_HOME": str(home), "DOCKER_HOST": docker_host}
    return start_worker("dw", "--heartbeat-seconds", "0.5", env=env, log=log_file, pool=POOL)


def _beats(store: Store, count: int) -> None:
    """Wait for `count` more heartbeats of the worker (each is a pass in which it could have claimed)."""
    seen: set[Any] = set()

    def more() -> bool:
        seen.update(w.last_heartbeat for w in store.workers.list(POOL))
        return len(seen) > count

    wait_for(more, timeout=120)


def test_a_worker_whose_docker_daemon_does_not_answer_says_so_and_claims_nothing(
    store: Store, isolated_home: Path, tmp_path: Path
) -> None:
    run = queue_run(store, deployment(store, "deploytool-test/never-used:1", "hello", {}))
    dead = f"unix://{tmp_path / 'docker.sock'}"  # no daemon listens there
    log_file = tmp_path / "worker.log"
    proc = _worker_on(isolated_home, dead, log_file)
    try:
        wait_for(lambda: [w.problem is not None for w in store.workers.list(POOL)] == [True], timeout=120)
        _beats(store, 3)
        assert state_of(store, run.id) is RunState.SCHEDULED  # claimed by nobody: not taken and crashed
        listed = cli(isolated_home, "work-pool", "ls").stdout
        assert "NOT_READY" in listed
        assert f"pool {POOL} is NOT_READY: worker dw on " in listed
        assert "cannot take runs: " in listed and f"the Docker daemon at {dead} did not answer" in listed
        inspected = cli(isolated_home, "work-pool", "inspect", POOL).stdout
        assert "status: NOT_READY (worker dw on " in inspected and "; cannot take runs: " in inspected
        why = cli(isolated_home, "flow-run", "why", run.id[:8]).stdout
        assert f"pool '{POOL}' is NOT_READY: worker dw on" in why and "did not answer" in why
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    log = log_file.read_text()
    assert "worker dw cannot start jobs: " in log and "Traceback" not in log


def test_a_worker_claims_again_once_its_docker_daemon_answers(
    store: Store, isolated_home: Path, tmp_path: Path, worker_image: str, docker_labels: dict[str, str]
) -> None:
    real = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not real.startswith("unix://"):
        pytest.skip(f"the daemon is reached at {real}, not through a socket this test can link to")
    run = queue_run(store, deployment(store, worker_image, "hello", docker_labels, auto_remove=True))
    socket_link = tmp_path / "docker.sock"
    log_file = tmp_path / "worker.log"
    proc = _worker_on(isolated_home, f"unix://{socket_link}", log_file)
    try:
        wait_for(lambda: [w.problem is not None for w in store.workers.list(POOL)] == [True], timeout=120)
        assert state_of(store, run.id) is RunState.SCHEDULED
        socket_link.symlink_to(real.removeprefix("unix://"))  # the daemon is back
        wait_for(lambda: state_of(store, run.id) in TERMINAL, timeout=120)
        assert [w.problem for w in store.workers.list(POOL)] == [None]
        assert "READY" in cli(isolated_home, "work-pool", "ls").stdout.replace("NOT_READY", "")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    done = store.runs.get(run.id)
    assert done.state is RunState.COMPLETED, (done.state_message, log_file.read_text())
    assert "hello world" in log_text(store, run.id)
    assert "worker dw: its infrastructure answers again: claiming runs" in log_file.read_text()
