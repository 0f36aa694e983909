"""deploytool across hosts, each a network namespace of its own (tests/hosts/helpers.py), sharing only the
PostgreSQL server, the registry and the Docker daemon, as docs/several-hosts.md sets them up:

- "ci" deploys the project (a Docker build and a push to the registry, deployments registered in the store);
- "w1" and "w2" each run a process worker; between them they run 300 runs, each exactly once;
- "queue" queues the runs and watches one with `run --watch`;
- a second worker named "w1", on w2, is refused while w1 beats.

Then the faults, on the same hosts: PostgreSQL restarted while runs are in flight, and w1 cut off (its veth down)
for longer than its lease and then back. Each run's flow leaves a marker in its host's folder when it starts and
when it ends, so what ran where, and how often, is read from the hosts themselves, not from the store.

A second test runs a docker pool's worker on a host: CI builds an image (`dockerfile: auto`) and pushes it, the
worker's daemon pulls it and runs each run in a container that writes its marker into the host's folder.

The project's files are on this machine's file system, which the hosts share (real worker hosts get the code
from their image or a pull step; how they get it is not what this test is about).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.infra.process import run_processes
from deploytool.models import ACTIVE, TERMINAL, FlowRun, RunState
from deploytool.store import Store
from tests.docker_support import LocalRegistry
from tests.hosts.helpers import FLOW, Connections, Host, Network, markers, queue_runs, wait_for, why_no_namespaces
from tests.store import pg_cluster as pg

HEARTBEAT = 2.0  # seconds; a lease is 3 heartbeats: 6 s, so that a cut longer than a lease stays short
POOL = "hosts"
MAX_WORKER_CONNECTIONS = 2  # one for its statements, one listening for new runs where the store notifies

PROJECT = """\
build:
  - build_docker_image:
      id: image
      image_name: "{registry}/hosts/flows"
      dockerfile: Dockerfile
      labels: {labels}
push:
  - push_docker_image:
      id: pushed
      image_name: "{{{{ image.image_name }}}}"
      tag: "{{{{ image.tag }}}}"
deployments:
  - name: fast
    entrypoint: flows/hosts.py:hosts
    description: "flows of image {{{{ pushed.image }}}}"
    work_pool: {{name: {pool}}}
  - name: pinned
    entrypoint: flows/hosts.py:hosts
    work_pool: {{name: {pool}, work_queue_name: pinned}}
"""

DOCKERFILE = "FROM scratch\nCOPY flows /flows\n"


@pytest.fixture
def hosts(net: Network, server: pg.Cluster) -> Iterator[dict[str, Host]]:
    """The four hosts, each with the store's URL on the network (and nothing of the test's own environment)."""
    url = server.fresh_database().replace("127.0.0.1", net.gateway)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYTOOL_")}
    env["DEPLOYTOOL_STORE_URL"] = url
    made = {name: net.add_host(name, env) for name in ("ci", "w1", "w2", "queue")}
    yield made
    for host in made.values():
        host.stop_all()


@pytest.fixture
def store(hosts: dict[str, Host], net: Network) -> Iterator[Store]:
    """The test's own view of the shared store (from this machine, on 127.0.0.1)."""
    with Store.open(store_url(net, hosts["ci"])) as opened:
        yield opened


def runs_by_id(store: Store, ids: list[str]) -> dict[str, FlowRun]:
    return {run_id: store.runs.get(run_id) for run_id in ids}


def all_ended(store: Store, ids: list[str]) -> bool:
    return all(run.state in TERMINAL for run in runs_by_id(store, ids).values())


def running(store: Store, ids: list[str]) -> int:
    return sum(run.state is RunState.RUNNING for run in runs_by_id(store, ids).values())


def outcomes(runs: dict[str, FlowRun]) -> dict[str, tuple[RunState, str | None]]:
    return {run_id: (run.state, run.state_message) for run_id, run in runs.items()}


def deploy_from_ci(ci: Host, registry: LocalRegistry, labels: dict[str, str]) -> None:
    """The CI host's job: create the pool and a queue, then `deploytool deploy --all` in the project."""
    project = ci.folder / "project"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "hosts.py").write_text(FLOW)
    (project / "Dockerfile").write_text(DOCKERFILE)
    (project / "deploy.yaml").write_text(PROJECT.format(registry=registry.host, labels=json.dumps(labels), pool=POOL))
    for argv in (["work-pool", "create", POOL, "--type", "process"], ["work-queue", "create", "pinned", "-p", POOL]):
        done = ci.deploytool(*argv)
        assert done.returncode == 0, done.stderr
    deployed = ci.deploytool("deploy", "--all", cwd=project)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "Deployed: 2 created." in deployed.stdout, deployed.stdout + deployed.stderr


@pytest.mark.slow
def test_deploy_run_300_runs_on_two_hosts_then_survive_a_database_restart_and_a_cut_worker(
    net: Network,
    server: pg.Cluster,
    hosts: dict[str, Host],
    store: Store,
    registry: LocalRegistry,
    docker_labels: dict[str, str],
    docker_janitor: object,
) -> None:
    ci, w1, w2, queue = hosts["ci"], hosts["w1"], hosts["w2"], hosts["queue"]

    # --- CI deploys: build, push, register ------------------------------------------------------------------
    deploy_from_ci(ci, registry, docker_labels)
    (tag,) = registry.tags("hosts/flows")
    fast = store.deployments.get_by_name("hosts", "fast")
    assert fast.description == f"flows of image {registry.host}/hosts/flows:{tag}", "pushed, then registered"

    # --- two worker hosts; w2 serves the default queue only, so that the "pinned" runs go to w1 --------------
    beat = ("--heartbeat-seconds", f"{HEARTBEAT:g}", "--limit", "8")
    workers = {"w1": w1.start_worker("w1", POOL, *beat), "w2": w2.start_worker("w2", POOL, *beat, "-q", "default")}
    wait_for(lambda: {w.name for w in store.workers.list()} == {"w1", "w2"}, "both workers to register")
    assert {w.name: w.host for w in store.workers.list()} == {"w1": "w1", "w2": "w2"}

    # --- the same --name on another host is refused while the first one beats ---------------------------------
    twin = w2.deploytool("worker", "start", "--pool", POOL, "--name", "w1")
    assert twin.returncode == 1, twin.stdout + twin.stderr
    assert "a worker named 'w1' is already serving pool 'hosts'" in twin.stderr and " on w1, " in twin.stderr

    # --- 300 runs: 299 queued in one go from the queue host, one more with `run --watch` ---------------------
    sampler = Connections(server.url(), list(hosts.values()))
    ids = queue_runs(queue, "hosts/fast", 299)
    watched = queue.deploytool("run", "hosts/fast", "--watch")
    shown = watched.stdout + watched.stderr
    assert watched.returncode == 0, shown
    (watched_id,) = [run.id for run in store.runs.list(limit=1000) if run.id not in ids]
    assert f"run {watched_id} on host w" in shown and "COMPLETED" in shown, shown
    ids.append(watched_id)
    wait_for(lambda: all_ended(store, ids), "the 300 runs to end")
    runs = runs_by_id(store, ids)
    assert Counter(run.state for run in runs.values()) == {RunState.COMPLETED: 300}
    found = markers([w1, w2])
    assert Counter(m.run_id for m in found if m.what == "start") == dict.fromkeys(ids, 1), "each ran once"
    assert Counter(m.run_id for m in found if m.what == "end") == dict.fromkeys(ids, 1)
    for marker in found:
        assert runs[marker.run_id].worker_name == marker.host, "the store names the host the run ran on"
    by_host = Counter(m.host for m in found if m.what == "start")
    assert by_host["w1"] > 0 and by_host["w2"] > 0, by_host
    peak = sampler.stop()  # docs/several-hosts.md, "Sizing": what a worker holds, however many runs it runs
    assert 1 <= peak["w1"] <= MAX_WORKER_CONNECTIONS and 1 <= peak["w2"] <= MAX_WORKER_CONNECTIONS, peak

    # --- PostgreSQL restarted while runs are in flight: they end while it is down ---------------------------
    flight = queue_runs(queue, "hosts/fast", 12, seconds=2)
    wait_for(lambda: running(store, flight) >= 4, "runs to be in flight")
    store.close()
    down_from = time.time()
    server.restart(down_seconds=4)
    back_at = time.time()
    with Store.open(store_url(net, ci)) as again:
        wait_for(lambda: all_ended(again, flight), "the runs in flight across the restart to end")
        across = runs_by_id(again, flight)
        assert Counter(run.state for run in across.values()) == {RunState.COMPLETED: 12}, outcomes(across)
        flight_markers = [m for m in markers([w1, w2]) if m.run_id in flight]
        assert Counter(m.run_id for m in flight_markers if m.what == "start") == dict.fromkeys(flight, 1)
        ended_meanwhile = [m for m in flight_markers if m.what == "end" and down_from <= m.written <= back_at]
        assert ended_meanwhile, "runs ended while the server was going down or down (recorded once it was back)"
        printed = {
            run_id: sum(f"run {run_id} on host" in line.message for line in again.logs.read(run_id, limit=10_000))
            for run_id in flight
        }
        assert printed == dict.fromkeys(flight, 1), "each run's line recorded once: none lost, none twice"
        assert {w.name for w in again.workers.list()} == {"w1", "w2"}, "both workers came through the restart"

        # --- w1 cut off for longer than its lease, then back ------------------------------------------------
        pinned = queue_runs(queue, "hosts/pinned", 3, seconds=3600)
        wait_for(lambda: running(again, pinned) == 3, "w1 to run the pinned runs")
        wait_for(lambda: all(run_processes(run_id) for run_id in pinned), "the pinned flows to run on w1")
        net.cut(w1)
        try:
            wait_for(lambda: all_ended(again, pinned), "w2 to recover w1's runs once their lease expired")
            recovered = runs_by_id(again, pinned)
            for run in recovered.values():
                assert run.state is RunState.CRASHED, (run.state, run.state_message)
                assert "worker 'w1' stopped renewing its lease" in (run.state_message or "")
            assert all(run_processes(run_id) for run_id in pinned), "w2 cannot reach w1's jobs: they still run"
        finally:
            net.restore(w1)
        wait_for(lambda: not any(run_processes(run_id) for run_id in pinned), "w1 to stop the jobs of the runs it lost")
        for run_id in pinned:
            assert f"run {run_id} is no longer held by worker w1: stopping its job" in w1.output("w1")
        last_end = max(run.end_time for run in recovered.values() if run.end_time is not None)
        wait_for(
            lambda: any(w.name == "w1" and w.last_heartbeat > last_end for w in again.workers.list()),
            "w1 to beat again",
        )
        assert outcomes(runs_by_id(again, pinned)) == outcomes(recovered), "w1 did not overwrite the outcomes"
        assert not [m for m in markers([w1, w2]) if m.run_id in pinned and m.what == "end"]
        assert not [m for m in markers([w2]) if m.run_id in pinned], "a crashed run is not run again (no retries)"

        # --- both workers drain and leave; nothing is left active -------------------------------------------
        for host in (w1, w2):
            host.signal(workers[host.name], signal.SIGTERM)
        for host in (w1, w2):
            assert workers[host.name].wait(120) == 0, host.output(host.name)
        assert again.runs.list(state=[RunState.SCHEDULED, *ACTIVE], limit=10) == []
        assert again.workers.list() == []


def store_url(net: Network, host: Host) -> str:
    """The store's URL as this machine reaches it (127.0.0.1), from a host's (the gateway's address)."""
    return host.env["DEPLOYTOOL_STORE_URL"].replace(net.gateway, "127.0.0.1")


def test_without_the_ip_command_the_reason_to_skip_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `ip` on it
    reason = why_no_namespaces()
    if sys.platform == "linux":
        assert reason == "the `ip` command is missing (Debian package iproute2)"
    else:
        assert reason is not None and "Linux only" in reason


DOCKER_PROJECT = """\
build:
  - build_docker_image:
      id: image
      image_name: "{registry}/{repository}"
      dockerfile: auto
      labels: {labels}
push:
  - push_docker_image:
      id: pushed
      image_name: "{{{{ image.image_name }}}}"
      tag: "{{{{ image.tag }}}}"
deployments:
  - name: boxed
    entrypoint: flows/hosts.py:hosts
    work_pool:
      name: boxes
      job_variables:
        image: "{{{{ pushed.image }}}}"
        image_pull_policy: Always
        env: {{HOSTS_NAME: w1, HOSTS_MARKERS: /markers}}
        volumes: ["{markers}:/markers"]
        labels: {labels}
"""


@pytest.mark.slow
def test_a_docker_pool_on_a_worker_host_runs_the_image_that_ci_pushed(
    net: Network,
    hosts: dict[str, Host],
    store: Store,
    shared_registry: LocalRegistry,
    base_image: str,
    docker_labels: dict[str, str],
    docker_janitor: object,
) -> None:
    ci, w1, queue = hosts["ci"], hosts["w1"], hosts["queue"]
    ci.env["DEPLOYTOOL_BASE_IMAGE"] = base_image
    repository = f"hosts/box-{net.token}"
    project = ci.folder / "project"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "hosts.py").write_text(FLOW)
    (project / "deploy.yaml").write_text(
        DOCKER_PROJECT.format(
            registry=shared_registry.host, repository=repository, labels=json.dumps(docker_labels), markers=w1.markers
        )
    )
    created = ci.deploytool("work-pool", "create", "boxes", "--type", "docker")
    assert created.returncode == 0, created.stderr
    deployed = ci.deploytool("deploy", "--all", cwd=project)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    (tag,) = shared_registry.tags(repository)

    worker = w1.start_worker("w1", "boxes", "--heartbeat-seconds", "2", "--limit", "4")
    ids = queue_runs(queue, "hosts/boxed", 4)
    wait_for(lambda: all_ended(store, ids), "the container runs to end")
    runs = runs_by_id(store, ids)
    assert Counter(run.state for run in runs.values()) == {RunState.COMPLETED: 4}, outcomes(runs)
    assert {run.worker_name for run in runs.values()} == {"w1"}
    found = markers([w1])
    assert Counter(m.run_id for m in found if m.what == "start") == dict.fromkeys(ids, 1)
    for run_id in ids:
        lines = [line.message for line in store.logs.read(run_id, limit=10_000)]
        assert sum(f"run {run_id} on host w1" in line for line in lines) == 1, lines
    pushed = f"{shared_registry.host}/{repository}:{tag}"
    assert store.deployments.get_by_name("hosts", "boxed").job_variables["image"] == pushed
    assert f"pulling image {pushed}" in w1.output("w1"), "w1's daemon pulled what CI pushed"
    w1.signal(worker, signal.SIGTERM)
    assert worker.wait(120) == 0, w1.output("w1")
