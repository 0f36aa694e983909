"""Docker hosts stay clean, against the real daemon: a worker removes a run's container only once the run's outcome
and logs are recorded; a FAILED or CRASHED run's container is kept `keep_failed_hours` (default 24) and then
removed by the worker's sweep; a restarted worker's reconciliation keeps it within that time too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deploytool.models import Deployment, RunState
from deploytool.store import Store
from tests.docker_support import DockerJanitor
from tests.infra.helpers import containers_of, docker_deployment, docker_store, flows_image
from tests.worker.helpers import log_text, queue_run, state_of, tick_until, wait_for
from tests.worker.helpers import worker as make_worker

POOL = "retention"
FLOWS = """
import time

from deploytool import flow


@flow(name="hello")
def hello(name: str = "world"):
    print(f"hello {name}")


@flow(name="slow")
def slow(seconds: float = 600):
    print("sleeping", flush=True)
    time.sleep(seconds)
"""


def deployment(store: Store, image: str, entry: str, labels: dict[str, str], **job_variables: Any) -> Deployment:
    return docker_deployment(store, POOL, image, entry, labels, **job_variables)


def docker_worker(store: Store, **options: Any) -> Any:
    return make_worker(store, pool=POOL, **options)


@pytest.fixture(scope="module")
def worker_image(
    docker_client: Any, base_image: str, docker_labels: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """FLOWS in an image with this checkout installed."""
    context = tmp_path_factory.mktemp("retention-image")
    return flows_image(docker_client, base_image, docker_labels, context, FLOWS, "retention")


@pytest.fixture
def store(isolated_home: Path) -> Iterator[Store]:
    with docker_store(isolated_home, POOL) as opened:
        yield opened


FAILING = "python -c 'print(\"about to fail\", flush=True); import sys; sys.exit(3)'"


def _ended_but_not_reaped(w: Any, store: Store, run_id: str) -> None:
    """Tick until the run's job is started, then wait (without ticking: nothing is recorded meanwhile) until
    the job has ended and the worker holds its outcome."""
    tick_until(w, lambda: run_id in w.active and w.active[run_id].info is not None, timeout=120)
    wait_for(lambda: w.active[run_id].done, timeout=120)


def test_a_completed_runs_container_is_removed_only_once_its_outcome_and_logs_are_recorded(
    store: Store, worker_image: str, docker_labels: dict[str, str], docker_client: Any
) -> None:
    run = queue_run(store, deployment(store, worker_image, "hello", docker_labels))
    w = docker_worker(store)
    w.register()
    _ended_but_not_reaped(w, store, run.id)
    # the container has exited and its outcome was read, but the run is not recorded yet: the container stays
    assert state_of(store, run.id) is RunState.RUNNING
    assert len(containers_of(docker_client, run.id)) == 1
    w.tick()
    done = store.runs.get(run.id)
    assert done.state is RunState.COMPLETED, done.state_message
    assert "hello world" in log_text(store, run.id)
    assert containers_of(docker_client, run.id) == []
    w.close()


def test_a_failed_runs_container_is_kept_for_keep_failed_hours_then_the_worker_removes_it(
    store: Store, worker_image: str, docker_labels: dict[str, str], docker_client: Any
) -> None:
    run = queue_run(store, deployment(store, worker_image, "hello", docker_labels, command=FAILING))
    w = docker_worker(store)
    w.register()
    _ended_but_not_reaped(w, store, run.id)
    w.tick()
    done = store.runs.get(run.id)
    assert done.state is RunState.CRASHED and done.exit_code == 3, done.state_message
    assert done.end_time is not None
    [kept] = containers_of(docker_client, run.id)  # for docker logs / inspect
    assert kept["Labels"]["org.deploytool.keep-failed-hours"] == "24"
    assert "about to fail" in docker_client.containers.get(kept["Id"]).logs().decode()

    # a worker started again reconciles its pool's containers: it keeps this one too, within its time
    again = docker_worker(store, name="second")
    again.register()
    assert len(containers_of(docker_client, run.id)) == 1

    w.sweeper.tick(done.end_time + timedelta(hours=23))
    assert len(containers_of(docker_client, run.id)) == 1
    w.sweeper.tick(done.end_time + timedelta(hours=24, seconds=1))
    assert containers_of(docker_client, run.id) == []
    assert w.sweeper.removed == 1
    again.close()
    w.close()


def test_keep_failed_hours_0_removes_a_failed_runs_container_at_once_and_auto_remove_false_keeps_any(
    store: Store, worker_image: str, docker_labels: dict[str, str], docker_client: Any, docker_janitor: DockerJanitor
) -> None:
    failing = deployment(store, worker_image, "hello", docker_labels, command=FAILING, keep_failed_hours=0)
    failed = queue_run(store, failing)
    w = docker_worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, failed.id) is RunState.CRASHED and failed.id not in w.active, timeout=120)
    assert containers_of(docker_client, failed.id) == []

    kept = queue_run(store, deployment(store, worker_image, "hello", docker_labels, auto_remove=False))
    tick_until(w, lambda: state_of(store, kept.id) is RunState.COMPLETED and kept.id not in w.active, timeout=120)
    ended = store.runs.get(kept.id).end_time
    assert ended is not None
    w.sweeper.tick(ended + timedelta(days=30))
    [container] = containers_of(docker_client, kept.id)  # until `deploytool worker prune`
    docker_janitor.container(container["Id"])
    w.close()


def test_a_crashed_runs_container_still_running_under_a_lost_worker_is_stopped_and_kept(
    store: Store, worker_image: str, docker_labels: dict[str, str], docker_client: Any
) -> None:
    from deploytool.models import utcnow

    run = queue_run(store, deployment(store, worker_image, "slow", docker_labels))
    a = docker_worker(store, name="A")
    a.register()
    tick_until(a, lambda: "sleeping" in log_text(store, run.id), timeout=120)
    # A stops ticking (as if it hung); B recovers A's expired lease as CRASHED, then reconciles the container
    b = docker_worker(store, name="B")
    later = utcnow() + timedelta(seconds=60)
    b.register(later)
    assert store.runs.get(run.id).state is RunState.CRASHED
    wait_for(lambda: [c["State"] for c in containers_of(docker_client, run.id)] == ["exited"], timeout=60)
    assert "is stopping leftover container" in log_text(store, run.id)  # stopped, kept: what it printed is there
    ended = store.runs.get(run.id).end_time
    assert ended is not None
    b.sweeper.tick(ended + timedelta(hours=24, seconds=1))
    assert containers_of(docker_client, run.id) == []
    b.close(later)
