"""A real worker process runs a one-second interval schedule: it schedules the runs itself and executes them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploytool.models import RunState
from deploytool.settings import Settings
from deploytool.store import Store
from tests.scheduling.helpers import auto_runs
from tests.worker.helpers import make_deployment, make_pool, write_flow


@pytest.mark.slow
def test_a_worker_executes_a_one_second_interval_schedule(isolated_home: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    entry = write_flow(project, "print('tick', kwargs)")
    with Store.open(Settings.from_env().db_path) as store:
        make_pool(store)
        deployment = make_deployment(store, project, entry, schedules=[{"interval": 1}], parameters={"n": 1})
    env = {**os.environ, "DEPLOYTOOL_HOME": str(isolated_home)}
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "deploytool", "worker", "start", "--pool", "p", "--poll-seconds", "0.05",
               "--heartbeat-seconds", "1", "--stop-grace", "1", "--shutdown-grace", "5"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # a safety net: the loop ends at the second COMPLETED run
        completed: list[object] = []
        with Store.open(Settings.from_env().db_path) as store:
            while time.monotonic() < deadline and len(completed) < 2 and proc.poll() is None:
                completed = auto_runs(store, deployment, RunState.COMPLETED)
                time.sleep(0.2)
            assert len(completed) >= 2, log.read_text(errors="replace")[-3000:]
            runs = auto_runs(store, deployment)
            keys = [r.idempotency_key for r in runs]
            assert len(keys) == len(set(keys))
            assert all(r.parameters == {"n": 1} for r in runs)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
