"""What the worker reports about its runs and itself: infrastructure ids, recoveries, `worker ls`, its name."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from deploytool.errors import DeploytoolError
from deploytool.models import RunState, utcnow
from deploytool.store import Store
from deploytool.worker.listing import list_workers
from tests.worker.helpers import (
    log_text,
    make_deployment,
    make_pool,
    queue_run,
    state_of,
    tick_until,
    worker,
    write_flow,
)


def test_the_pid_of_a_process_job_is_its_infrastructure_id(store: Store, project: Path) -> None:
    run = queue_run(store, make_deployment(store, project, write_flow(project, "import os\nprint('pid', os.getpid())")))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) is RunState.COMPLETED)
    w.close()
    pid = log_text(store, run.id).split("pid ")[-1].split()[0]
    assert store.runs.get(run.id).infrastructure_id == pid


def test_a_recovered_pending_run_is_logged_with_its_worker(
    store: Store, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = queue_run(store, make_deployment(store, project, write_flow(project, "pass")))
    start = utcnow()
    assert store.runs.claim_next("p", None, "ghost", 1.5, start) is not None
    w = worker(store, limit=1)
    w.register(start)
    with caplog.at_level(logging.WARNING, "deploytool.worker"):
        for beat in (0.5, 1.0, 1.5, 2.0):
            w.tick(start + timedelta(seconds=beat))
    recovered = [r.getMessage() for r in caplog.records if "recovered run" in r.getMessage()]
    assert recovered and "worker 'ghost' lost its lease" in recovered[0] and "None" not in recovered[0]
    w.close()
    assert run.id in recovered[0]


def test_worker_ls_says_stale_for_a_killed_worker_on_this_host(store: Store) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs: a worker killed with kill -9
    now = utcnow()
    store.workers.heartbeat("killed", "p", os.uname().nodename, gone.pid, now)
    store.workers.heartbeat("alive", "p", os.uname().nodename, os.getpid(), now)
    store.workers.heartbeat("quiet", "p", "elsewhere", 1, now - timedelta(seconds=20))
    store.workers.heartbeat("gone", "p", "elsewhere", 1, now - timedelta(seconds=600))
    listed = {w["name"]: w for w in list_workers(store, "p", now)}
    assert {name: w["status"] for name, w in listed.items()} == {
        "killed": "stale", "alive": "online", "quiet": "stale", "gone": "offline",
    }  # fmt: skip
    assert [listed[n]["online"] for n in ("killed", "alive")] == [False, True]


@pytest.mark.parametrize("name", ["a\nb", "evil\u202egnp.exe", "tab\there", "zero\u200bwidth", "esc\x1b[31m"])
def test_worker_names_with_control_or_bidi_characters_are_refused(store: Store, name: str) -> None:
    with pytest.raises(DeploytoolError, match="control or invisible formatting characters"):
        worker(store, name=name)


def test_worker_start_refuses_a_name_with_a_newline_and_says_why(isolated_home: Path) -> None:
    with Store.open(isolated_home / "deploytool.db") as store:
        make_pool(store)
    env = {**os.environ, "DEPLOYTOOL_HOME": str(isolated_home)}
    done = subprocess.run(
        [sys.executable, "-m", "deploytool", "worker", "start", "--pool", "p", "--run-once", "--name", "w\n1"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "worker name 'w\\n1' contains control or invisible formatting characters (U+000A)" in done.stderr
    assert "Traceback" not in done.stderr
    command = [sys.executable, "-m", "deploytool", "worker", "ls", "--output", "json"]
    listed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert json.loads(listed.stdout)["data"] == []
