"""Docker infrastructure against the real daemon: a flow in a container end to end, stop, crash, OOM, images.

The flows run in a test image built once per session FROM the local base image, with the current deploytool
checkout installed offline from a wheel made here (the engine needs only the standard library) and a flow file
in its working directory. Every container and image carries the session's labels (docker_labels).
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploytool.engine.events import parse_line
from deploytool.engine.spec import RunSpec
from deploytool.errors import InfraError
from deploytool.infra.base import Job
from deploytool.infra.docker import DockerHandle, DockerInfrastructure
from deploytool.infra.docker_config import (
    DEPLOYMENT_LABEL,
    FLOW_LABEL,
    POOL_LABEL,
    RUN_ID_LABEL,
    WORKER_LABEL,
    container_name,
    plan_container,
    split_image,
)
from tests.docker_support import DockerJanitor, LocalRegistry, make_tiny_image
from tests.infra.helpers import flows_image
from tests.worker.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]

FLOWS = """
import os
import signal
import sys
import time

from deploytool import flow


@flow(name="hello")
def hello(name: str = "world", count: int = 1):
    for i in range(count):
        print(f"hello {name} {i}")
    print(f"GREETING={os.environ.get('GREETING')}")
    print("to stderr", file=sys.stderr)
    return f"done {name}"


@flow(name="boom")
def boom():
    raise ValueError("kaboom")


@flow(name="sleepy")
def sleepy(seconds: float = 600, stubborn: bool = False):
    if stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("sleeping", flush=True)
    time.sleep(seconds)
    print("woke up")


@flow(name="hog")
def hog():
    chunks = []
    while True:
        chunks.append(bytearray(b"x") * (8 * 1024 * 1024))
"""


# --- the test image -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def flow_image(
    docker_client: Any, base_image: str, docker_labels: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> str:
    context = tmp_path_factory.mktemp("flow-image")
    return flows_image(docker_client, base_image, docker_labels, context, FLOWS, "docker-infra", label=True)


# --- helpers --------------------------------------------------------------------------------------------


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def events(self) -> list[dict[str, Any]]:
        return [event for line in list(self.lines) if (event := parse_line(line)[1]) is not None]

    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events()]

    def text(self) -> str:
        return "\n".join(text for line in list(self.lines) if (text := parse_line(line)[0]) is not None)


def make_job(
    image: str, entry: str, test_labels: dict[str, str], parameters: dict[str, Any] | None = None, **config: Any
) -> Job:
    run_id = uuid.uuid4().hex
    spec = RunSpec(
        run_id=run_id,
        flow_name=entry,
        deployment_name=f"{entry}-deployment",
        entrypoint=f"flows.py:{entry}",
        parameters=parameters or {},
    )
    configuration = {"image": image, "image_pull_policy": "Never", "labels": dict(test_labels), **config}
    return Job(run_id=run_id, configuration=configuration, env=spec.to_env())


def gone(client: Any, container_id: str) -> bool:
    import docker.errors

    try:
        client.containers.get(container_id)
    except docker.errors.NotFound:
        return True
    return False


@pytest.fixture
def infra(docker_janitor: DockerJanitor) -> Iterator[DockerInfrastructure]:
    yield DockerInfrastructure(worker_name=f"worker-{uuid.uuid4().hex[:8]}", pool_name="docker-pool")


def started(infra: DockerInfrastructure, job: Job, janitor: DockerJanitor, lines: Lines) -> DockerHandle:
    handle = infra.start(job, lines)
    janitor.container(handle.container_id)
    return handle


# --- end to end -----------------------------------------------------------------------------------------


def test_a_flow_runs_in_a_container_with_parameters_env_labels_and_streamed_output(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    job = make_job(
        flow_image,
        "hello",
        docker_labels,
        {"name": "Ada", "count": 2},
        env={"GREETING": "from the job config", "DROPPED": None},
        labels={**docker_labels, "team": "data", RUN_ID_LABEL: "forged"},
    )
    lines = Lines()
    handle = started(infra, job, docker_janitor, lines)
    container = docker_janitor.client.containers.get(handle.container_id)
    assert container.labels[RUN_ID_LABEL] == job.run_id  # deploytool's labels win over the configuration's
    assert container.labels[FLOW_LABEL] == "hello" and container.labels[DEPLOYMENT_LABEL] == "hello-deployment"
    assert container.labels[WORKER_LABEL] == infra.worker_name and container.labels[POOL_LABEL] == "docker-pool"
    assert container.labels["team"] == "data"
    assert job.run_id[:8] in container.name

    outcome = infra.wait(handle, timeout=60)
    assert outcome is not None, "the flow did not finish within 60 s"
    assert outcome.exit_code == 0 and not outcome.stopped and not outcome.oom_killed
    assert infra.poll(handle) == 0
    text = lines.text().splitlines()
    assert [line for line in text if line.startswith(("hello", "GREETING"))] == [
        "hello Ada 0",
        "hello Ada 1",
        "GREETING=from the job config",
    ]
    assert "to stderr" in text  # stderr is merged in; Docker keeps no order between the two streams
    assert lines.kinds()[0] == "started" and lines.kinds()[-1] == "completed"
    assert lines.events()[-1]["result_repr"] == "'done Ada'"
    assert not gone(docker_janitor.client, handle.container_id)  # auto_remove false: kept, like `docker run`
    assert infra.release(handle.container_id, failed=False) is False  # ... also once its outcome is recorded
    assert not gone(docker_janitor.client, handle.container_id)


def test_a_failing_flow_exits_1_with_its_traceback_streamed_and_is_kept_until_released(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    lines = Lines()
    job = make_job(flow_image, "boom", docker_labels, auto_remove=True, keep_failed_hours=0)
    handle = started(infra, job, docker_janitor, lines)
    outcome = infra.wait(handle, timeout=60)
    assert outcome is not None and outcome.exit_code == 1
    failed = lines.events()[-1]
    assert failed["event"] == "failed" and failed["stage"] == "flow"
    assert "ValueError: kaboom" in failed["traceback"] and 'raise ValueError("kaboom")' in failed["traceback"]
    assert "the flow failed" in outcome.describe()
    # the outcome is read; the container stays until the worker has recorded it and releases it
    assert not gone(docker_janitor.client, handle.container_id)
    assert infra.release(handle.container_id, failed=True) is True  # keep_failed_hours 0: at once
    assert gone(docker_janitor.client, handle.container_id)
    assert infra.release(handle.container_id, failed=True) is False  # already gone: fine


def test_stop_ends_a_running_flow_within_the_grace_period_and_removes_the_container(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    lines = Lines()
    handle = started(infra, make_job(flow_image, "sleepy", docker_labels, auto_remove=True), docker_janitor, lines)
    wait_for(lambda: "sleeping" in lines.text())
    assert infra.poll(handle) is None and infra.wait(handle, timeout=0.2) is None
    outcome = infra.stop(handle, grace_seconds=10)
    # The engine unwinds on SIGTERM: it exits 143 by itself, no SIGKILL needed.
    assert outcome.exit_code == 143 and outcome.stopped and not outcome.killed
    assert lines.kinds()[-1] == "terminated"
    assert "after it was asked to stop" in outcome.describe()
    assert infra.stop(handle, grace_seconds=1) is outcome and infra.wait(handle) is outcome
    assert not gone(docker_janitor.client, handle.container_id)
    assert infra.release(handle.container_id, failed=False) is True
    assert gone(docker_janitor.client, handle.container_id)


def test_a_flow_that_ignores_sigterm_is_killed_after_the_grace_period(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    lines = Lines()
    job = make_job(flow_image, "sleepy", docker_labels, {"stubborn": True})
    handle = started(infra, job, docker_janitor, lines)
    wait_for(lambda: "sleeping" in lines.text())
    began = time.monotonic()
    outcome = infra.stop(handle, grace_seconds=1)
    assert time.monotonic() - began > 0.9  # the grace period was given (a loaded machine only adds to it)
    assert outcome.exit_code == 137 and outcome.stopped and outcome.killed
    assert "did not within the grace period" in outcome.describe()
    state = docker_janitor.client.containers.get(handle.container_id).attrs["State"]
    assert state["Status"] == "exited"  # auto_remove false: the stopped container is kept for inspection


def test_a_container_killed_from_outside_is_reported_as_exit_137(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    lines = Lines()
    handle = started(infra, make_job(flow_image, "sleepy", docker_labels, auto_remove=True), docker_janitor, lines)
    wait_for(lambda: "sleeping" in lines.text())
    subprocess.run(["docker", "kill", handle.container_id], check=True, capture_output=True)
    outcome = infra.wait(handle, timeout=30)
    assert outcome is not None and outcome.exit_code == 137
    assert not outcome.stopped and not outcome.oom_killed
    assert "SIGKILL" in outcome.describe() and "not out of memory" in outcome.describe()
    assert lines.kinds()[-1] == "attempt_started"  # no final event: the worker records a crash
    # a crashed run's container is kept keep_failed_hours (default 24) for a look; then the worker's sweep removes it
    assert infra.release(handle.container_id, failed=True) is False
    [found] = [j for j in infra.find("docker-pool") if j.job_id == handle.container_id]
    assert found.auto_remove and found.keep_failed_hours == 24 and not found.running


def test_an_out_of_memory_kill_is_told_apart_from_other_kills(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    job = make_job(flow_image, "hog", docker_labels, mem_limit="64m", memswap_limit="64m", auto_remove=True)
    handle = started(infra, job, docker_janitor, Lines())
    outcome = infra.wait(handle, timeout=60)
    assert outcome is not None
    if not outcome.oom_killed:
        pytest.skip(f"this kernel/daemon did not report OOMKilled (exit code {outcome.exit_code})")
    assert outcome.exit_code == 137
    assert "ran out of memory" in outcome.describe()


# --- reconciliation ---------------------------------------------------------------------------------------


def test_a_restarted_worker_finds_its_containers_by_label_and_attaches(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    # The sleeper outlives the checks below, which take a few seconds on a loaded machine.
    running_job = make_job(flow_image, "sleepy", docker_labels, {"seconds": 15}, auto_remove=True)
    done_job = make_job(flow_image, "hello", docker_labels)
    lines = Lines()
    running = started(infra, running_job, docker_janitor, lines)
    done = started(infra, done_job, docker_janitor, Lines())
    assert infra.wait(done, timeout=60) is not None
    wait_for(lambda: "sleeping" in lines.text())

    restarted = DockerInfrastructure(worker_name=infra.worker_name, pool_name="docker-pool")
    found = {info.run_id: info for info in restarted.find_containers(worker_name=infra.worker_name)}
    assert set(found) == {running_job.run_id, done_job.run_id}
    assert found[running_job.run_id].running and found[running_job.run_id].exit_code is None
    assert found[running_job.run_id].container_id == running.container_id
    assert not found[done_job.run_id].running and found[done_job.run_id].exit_code == 0
    assert restarted.find_containers(worker_name="someone-else") == []
    assert {i.run_id for i in restarted.find_containers(pool_name="docker-pool")} >= set(found)

    later = Lines()
    handle = restarted.attach(running.container_id, later)
    assert handle.run_id == running_job.run_id and handle.auto_remove
    outcome = restarted.wait(handle, timeout=60)
    assert outcome is not None and outcome.exit_code == 0
    assert "woke up" in later.text() and "sleeping" not in later.text()  # only output from the attach on
    assert restarted.release(running.container_id, failed=False)
    assert gone(docker_janitor.client, running.container_id)

    exited = restarted.attach(found[done_job.run_id].container_id)
    outcome = restarted.wait(exited, timeout=10)
    assert outcome is not None and outcome.exit_code == 0


# --- images and errors ------------------------------------------------------------------------------------


def test_never_with_a_missing_image_fails_the_run_with_a_clear_message(
    infra: DockerInfrastructure, docker_labels: dict[str, str]
) -> None:
    image = f"deploytool-test/missing:{uuid.uuid4().hex[:8]}"
    with pytest.raises(InfraError) as caught:
        infra.start(make_job(image, "hello", docker_labels), Lines())
    assert caught.value.message == f"image {image} is not present locally and image_pull_policy is Never"
    assert caught.value.hint and "IfNotPresent" in caught.value.hint
    with pytest.raises(InfraError, match="invalid reference format"):
        infra.start(make_job("Not A Valid Image!", "hello", docker_labels), Lines())
    with pytest.raises(InfraError) as caught:  # nothing listens on port 9: the registry is unreachable
        infra.start(make_job("127.0.0.1:9/team/app:1", "hello", docker_labels, image_pull_policy="Always"), Lines())
    assert caught.value.message.startswith("pulling image 127.0.0.1:9/team/app:1 failed:")
    assert "connection refused" in caught.value.message


def test_a_taken_name_gets_a_suffix(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    job = make_job(flow_image, "hello", docker_labels, name="fixed name")
    name = container_name("fixed name", job.run_id, "hello")
    assert name == f"fixed-name-{job.run_id[:8]}"
    squatter = docker_janitor.container(
        docker_janitor.client.containers.create(flow_image, name=name, labels=docker_labels)
    )
    handle = started(infra, job, docker_janitor, Lines())
    assert handle.name == f"{name}-1" and squatter.name == name
    outcome = infra.wait(handle, timeout=60)
    assert outcome is not None and outcome.exit_code == 0


def test_if_not_present_pulls_a_missing_image_from_the_registry(
    infra: DockerInfrastructure,
    registry: LocalRegistry,
    docker_labels: dict[str, str],
    docker_janitor: DockerJanitor,
) -> None:
    client = docker_janitor.client
    image = docker_janitor.image(f"{registry.host}/team/tiny:{uuid.uuid4().hex[:8]}")
    make_tiny_image(client, image, docker_labels)
    client.images.push(image)
    client.images.remove(image)
    job = make_job(image, "hello", docker_labels, image_pull_policy="IfNotPresent")
    # The tiny image has no Python: pulled, then the container cannot start. A bad image fails the run cleanly.
    with pytest.raises(InfraError) as caught:
        infra.start(job, Lines())
    assert client.images.get(image) is not None  # it was pulled
    assert "starting container" in caught.value.message and "python" in caught.value.message
    assert infra.find_containers(worker_name=infra.worker_name) == []  # the failed container was removed


def test_always_pulls_and_reports_an_image_missing_from_its_registry(
    infra: DockerInfrastructure,
    registry: LocalRegistry,
    docker_labels: dict[str, str],
    docker_janitor: DockerJanitor,
) -> None:
    image = docker_janitor.image(f"{registry.host}/team/local-only:1")
    make_tiny_image(docker_janitor.client, image, docker_labels)  # present locally, never pushed
    with pytest.raises(InfraError) as caught:
        infra.start(make_job(image, "hello", docker_labels, image_pull_policy="Always"), Lines())
    assert caught.value.message.startswith(f"image {image} was not found in its registry")
    assert caught.value.hint and "IfNotPresent" in caught.value.hint


def test_registry_credentials_log_in_before_the_pull_and_the_password_never_shows(
    infra: DockerInfrastructure,
    auth_registry: LocalRegistry,
    docker_labels: dict[str, str],
    docker_janitor: DockerJanitor,
) -> None:
    client = docker_janitor.client
    image = docker_janitor.image(f"{auth_registry.host}/private/tiny:1")
    make_tiny_image(client, image, docker_labels)
    client.images.push(image, auth_config=auth_registry.auth_config)
    client.images.remove(image)
    assert auth_registry.password is not None
    wrong = {"username": auth_registry.username, "password": "not-" + auth_registry.password}
    creds = {**wrong, "registry_url": auth_registry.host}
    with pytest.raises(InfraError) as caught:
        infra.start(
            make_job(image, "x", docker_labels, image_pull_policy="Always", registry_credentials=creds), Lines()
        )
    assert "logging in to registry" in caught.value.message and "registry_credentials" in str(caught.value)
    assert wrong["password"] not in str(caught.value)

    creds["password"] = auth_registry.password
    job = make_job(image, "x", docker_labels, image_pull_policy="Always", registry_credentials=creds)
    with pytest.raises(InfraError) as caught:
        infra.start(job, Lines())  # pulled with the credentials; then the tiny image cannot run
    assert "starting container" in caught.value.message
    assert client.images.get(image) is not None
    assert auth_registry.password not in str(caught.value)


def test_refused_container_create_kwargs_and_a_missing_network(
    infra: DockerInfrastructure, flow_image: str, docker_labels: dict[str, str]
) -> None:
    with pytest.raises(InfraError, match="may not set 'detach'"):
        infra.start(make_job(flow_image, "hello", docker_labels, container_create_kwargs={"detach": False}), Lines())
    with pytest.raises(InfraError, match=r"container_create_kwargs has an unknown key 'bogus'") as caught:
        infra.start(make_job(flow_image, "hello", docker_labels, container_create_kwargs={"bogus": 1}), Lines())
    assert "run()" not in str(caught.value) and "containers.create()" in str(caught.value)
    with pytest.raises(InfraError, match="no-such-network"):
        infra.start(make_job(flow_image, "hello", docker_labels, networks=["no-such-network"]), Lines())
    assert infra.find_containers(worker_name=infra.worker_name) == []


def test_an_unreachable_daemon_is_an_infra_error_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(InfraError) as caught:
        DockerInfrastructure().start(make_job("python:3.11", "hello", {}), Lines())
    assert "tcp://127.0.0.1:9 did not answer" in caught.value.message
    assert caught.value.hint and "DOCKER_HOST" in caught.value.hint


# --- the configuration, without a daemon ------------------------------------------------------------------


def test_names_are_valid_docker_names_and_unique_per_run() -> None:
    assert container_name(None, "0123456789abcdef", "my flow/ü") == "deploytool-my-flow-01234567"
    assert container_name("_weird..name!!", "abc", None) == "weird..name-abc"
    assert container_name("run-abc123", "abc123", None) == "run-abc123"


def test_images_split_into_repository_and_tag() -> None:
    assert split_image("python") == ("python", "latest")
    assert split_image("127.0.0.1:5000/team/app") == ("127.0.0.1:5000/team/app", "latest")
    assert split_image("127.0.0.1:5000/team/app:1.2") == ("127.0.0.1:5000/team/app", "1.2")
    assert split_image("app@sha256:abc") == ("app", "sha256:abc")


def test_the_plan_merges_env_labels_and_create_kwargs(tmp_path: Path) -> None:
    plan = plan_container(
        "run1234567",
        {
            "image": "img:1",
            "env": {"A": "1", "PYTHONUNBUFFERED": None, "N": 3},
            "labels": {"x": "y"},
            "volumes": ["./data:/data:ro", "cache:/cache"],
            "networks": ["a", "b"],
            "mem_limit": "256m",
            "container_create_kwargs": {"labels": {"x": "z", "k": "v"}, "environment": {"B": "2"}, "init": True},
            "registry_credentials": {"username": "u", "password": "s3cret", "registry_url": "r"},
        },
        {"DEPLOYTOOL_RUN_ID": "run1234567"},
        worker_name="w",
        cwd=tmp_path,
    )
    kwargs = plan.create_kwargs
    assert kwargs["environment"] == {"B": "2", "A": "1", "N": "3", "DEPLOYTOOL_RUN_ID": "run1234567"}
    assert kwargs["labels"]["x"] == "y" and kwargs["labels"]["k"] == "v" and kwargs["labels"][WORKER_LABEL] == "w"
    assert kwargs["volumes"] == [f"{tmp_path}/data:/data:ro", "cache:/cache"]
    assert kwargs["network"] == "a" and plan.networks == ["a", "b"] and kwargs["init"] is True
    assert kwargs["command"] == ["python", "-m", "deploytool.engine"] and kwargs["mem_limit"] == "256m"
    assert plan.pull_policy == "IfNotPresent" and "s3cret" not in repr(plan)
    for bad in ({"volumes": ["nocolon"]}, {"image_pull_policy": "Sometimes"}, {"image": ""}, {"command": 3}):
        with pytest.raises(InfraError):
            plan_container("r", {"image": "img", **bad}, {})


def test_keep_failed_hours_is_a_number_of_hours_and_a_label(tmp_path: Path) -> None:
    from deploytool.infra.docker_config import KEEP_FAILED_LABEL, plan_container

    def label(**config: Any) -> str:
        return plan_container("r1", {"image": "x", **config}, {}, cwd=tmp_path).labels[KEEP_FAILED_LABEL]

    assert label() == "24" and label(keep_failed_hours=0) == "0" and label(keep_failed_hours=1.5) == "1.5"
    for bad in (-1, "a day", True):
        with pytest.raises(InfraError, match="keep_failed_hours must be a number of hours"):
            label(keep_failed_hours=bad)
