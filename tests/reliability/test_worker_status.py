"""`worker ls`, `work-pool ls/inspect` and the dashboard say the same of a worker at the same moment: what keeps it
from taking runs (its Docker daemon does not answer), worded alike, and its status (online, stale, offline) by one
rule (deploytool.store.worker_status; docs/worker.md, "`worker ls`").

A real worker process of a docker pool whose `DOCKER_HOST` is a socket nobody listens on, on each backend; then
the same worker killed with SIGKILL: stale at once everywhere on its own host, though its heartbeat is recent.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from markupsafe import escape
from starlette.testclient import TestClient

from deploytool import jobvars
from deploytool.models import WorkPool
from deploytool.store import Store
from deploytool.ui.app import create_app
from deploytool.ui.config import from_env
from tests.reliability.helpers import WAIT, Workers
from tests.store.helpers import deploytool
from tests.worker.helpers import wait_for


def _views(url: str, home: Path) -> dict[str, Any]:
    """What each view says of the pool `d` and its worker `dw` now."""
    env = {"DEPLOYTOOL_STORE_URL": url, "DEPLOYTOOL_HOME": str(home)}
    listed = deploytool("worker", "ls", "--pool", "d", env=env)
    as_json = deploytool("worker", "ls", "--pool", "d", "--output", "json", env=env)
    pools = deploytool("work-pool", "ls", env=env)
    inspected = deploytool("work-pool", "inspect", "d", env=env)
    for done in (listed, as_json, pools, inspected):
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    config, _ = from_env(env)
    with TestClient(create_app(config), base_url="http://127.0.0.1:4200") as client:
        api = client.get("/api/v1/work-pools/d").json()
        page = client.get("/work-pools/d/workers").text
    return {
        "worker ls": listed.stdout,
        "worker ls json": json.loads(as_json.stdout)["data"],
        "work-pool ls": pools.stdout,
        "work-pool inspect": inspected.stdout,
        "api": api["workers"],
        "page": page,
    }


def test_every_view_of_a_worker_shows_its_problem_and_the_same_status(
    store_url: str, workers: Workers, tmp_path: Path
) -> None:
    with Store.open(store_url) as store:
        store.pools.create(WorkPool("d", "docker", base_job_template=jobvars.default_base_job_template("docker")))
        dead = f"unix://{tmp_path / 'docker.sock'}"  # no daemon listens there
        proc = workers.start("dw", store_url, pool="d", env={"DOCKER_HOST": dead})
        wait_for(lambda: [w.problem is not None for w in store.workers.list("d")] == [True], WAIT)
        problem = store.workers.list("d")[0].problem
    assert problem is not None and f"the Docker daemon at {dead} did not answer" in problem
    said = f"worker dw on {socket.gethostname()} cannot take runs: {problem}"
    home = tmp_path / "viewer"

    views = _views(store_url, home)
    assert said in views["worker ls"]  # as `work-pool ls` words it
    assert said in views["work-pool ls"]
    assert [(w["status"], w["problem"]) for w in views["worker ls json"]] == [("online", problem)]
    assert [(w["status"], w["online"], w["problem"]) for w in views["api"]] == [("online", True, problem)]
    assert "ONLINE" in views["page"] and f"cannot take runs: {escape(problem)}" in views["page"]

    proc.kill()  # its heartbeat is seconds old, but its process is gone: stale, in every view
    proc.wait()
    views = _views(store_url, home)
    assert [w["status"] for w in views["worker ls json"]] == ["stale"]
    assert [(w["status"], w["online"]) for w in views["api"]] == [("stale", False)]
    assert "STALE" in views["page"] and "ONLINE" not in views["page"]
    assert f"dw on {socket.gethostname()} (pid {proc.pid}): stale" in views["work-pool inspect"]
    assert " stale " in views["worker ls"]


def test_stale_means_one_default_lease_without_a_heartbeat() -> None:
    from deploytool.store import STALE_AFTER_SECONDS
    from deploytool.worker.options import DEFAULT_HEARTBEAT_SECONDS, LEASE_HEARTBEATS

    assert STALE_AFTER_SECONDS == LEASE_HEARTBEATS * DEFAULT_HEARTBEAT_SECONDS
