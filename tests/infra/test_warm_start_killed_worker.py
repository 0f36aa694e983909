"""A warm job never outlives a worker killed with SIGKILL (issue 17, item 2; docs/reliability.md): its watchdog
watches the worker, not the zygote, and ends every process of the job; the zygote exits with the worker."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.infra.process import run_processes
from deploytool.store import Store
from tests.infra.warm_helpers import deployment, zygote_of
from tests.worker.helpers import alive, log_text, queue_run, wait_for
from tests.worker_support import kill, start_worker

PATIENCE = 120.0  # a failure bound for a loaded machine, not a speed target

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="warm start needs Linux /proc")

FLOW = """
import os, signal, subprocess, sys, time
stubborn = subprocess.Popen(["sh", "-c", 'trap "" TERM; sleep 600'])
own_session = subprocess.Popen(["sleep", "600"], start_new_session=True)
r, w = os.pipe()
if os.fork() == 0:  # a daemon forked without exec: a session of its own, its parent gone at once
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(w, str(os.getpid()).encode())
        time.sleep(600)
    os._exit(0)
daemon = int(os.read(r, 32))
with open({pids!r}, "w") as f:
    f.write(f"{{os.getpid()}} {{stubborn.pid}} {{own_session.pid}} {{daemon}}")
print("children started", flush=True)
time.sleep(600)
"""


@pytest.fixture
def worker_process(db_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {"DEPLOYTOOL_HOME": str(db_path.parent)}
    proc = start_worker("doomed", "--heartbeat-seconds", "0.5", "--stop-grace", "1", env=env)
    yield proc
    kill(proc)


def test_kill_9_of_the_worker_ends_every_process_of_its_warm_job_and_its_zygote(
    store: Store, project: Path, worker_process: subprocess.Popen[bytes]
) -> None:
    pids_file = project / "pids"
    run = queue_run(store, deployment(store, project, FLOW.format(pids=str(pids_file)), warm_start=True))
    wait_for(lambda: "children started" in log_text(store, run.id), PATIENCE)
    wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 4, PATIENCE)
    pids = [int(p) for p in pids_file.read_text().split()]
    engine, daemon = pids[0], pids[3]
    zygote = zygote_of(engine)
    assert zygote != worker_process.pid and zygote_of(zygote) == worker_process.pid  # warm: the zygote's child
    assert all(alive(p) for p in pids)
    # The job's own processes carry the run's marker where a cold job's do, even forked without exec.
    assert {engine, daemon} <= set(run_processes(run.id))
    worker_process.send_signal(signal.SIGKILL)
    worker_process.wait()
    wait_for(lambda: not alive(zygote), PATIENCE)
    wait_for(lambda: [p for p in pids if alive(p)] == [] and run_processes(run.id) == {}, PATIENCE)
