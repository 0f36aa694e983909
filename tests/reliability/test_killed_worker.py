"""A killed worker leaves no process behind (issue 10, item 1; docs/reliability.md).

The flow starts a child that ignores SIGTERM (in the job's process group) and a child in a session of its own,
then sleeps. The worker is killed with SIGKILL. The job's watchdog ends both children (SIGTERM, a grace period,
SIGKILL) before it stops the flow itself; and when the job's own process is killed too, the worker that recovers
the run on this host ends what is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.infra.process import run_processes
from deploytool.models import RunState
from deploytool.store import Store
from tests.worker.helpers import log_text, make_deployment, queue_run, state_of, wait_for, write_flow
from tests.worker_support import kill, start_worker

PATIENCE = 120.0  # a failure bound for a loaded machine, not a speed target

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")

FLOW = """
import subprocess, time
subprocess.Popen(['sh', '-c', 'trap "" TERM; sleep {stubborn}'])
subprocess.Popen(['sleep', '{own_session}'], start_new_session=True)
print('children started', flush=True)
time.sleep(600)
"""


@pytest.fixture
def workers(db_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        kill(proc)


def _start_worker(db_path: Path, name: str, started: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    env = {"DEPLOYTOOL_HOME": str(db_path.parent)}
    proc = start_worker(name, "--heartbeat-seconds", "0.5", "--stop-grace", "1", env=env)
    started.append(proc)
    return proc


def _sleepers(marks: tuple[str, ...]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[:1] in ([b"sleep"], [b"sh"]) and any(m.encode() in part for part in argv for m in marks):
            try:
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _both_running(marks: tuple[str, ...]) -> bool:
    return all(_sleepers((mark,)) for mark in marks)


def _queue(store: Store, project: Path) -> tuple[str, tuple[str, str]]:
    marks = (f"6{uuid.uuid4().int % 10**6:06d}", f"7{uuid.uuid4().int % 10**6:06d}")
    flow = FLOW.format(stubborn=marks[0], own_session=marks[1])
    run = queue_run(store, make_deployment(store, project, write_flow(project, flow)))
    return run.id, marks


def test_kill_9_of_the_worker_ends_every_process_of_its_job(
    store: Store, db_path: Path, project: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    run_id, marks = _queue(store, project)
    worker = _start_worker(db_path, "doomed", workers)
    wait_for(lambda: "children started" in log_text(store, run_id), PATIENCE)
    wait_for(lambda: _both_running(marks), PATIENCE)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    # The job's watchdog: SIGTERM to the children, 5 s, SIGKILL (the TERM-ignoring one too), then the flow.
    wait_for(lambda: _sleepers(marks) == [] and run_processes(run_id) == {}, PATIENCE)


def test_the_recovering_worker_ends_what_a_killed_job_left(
    store: Store, db_path: Path, project: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    run_id, marks = _queue(store, project)
    worker = _start_worker(db_path, "doomed", workers)
    wait_for(lambda: "children started" in log_text(store, run_id), PATIENCE)
    wait_for(lambda: _both_running(marks), PATIENCE)
    engine = int(store.runs.get(run_id).infrastructure_id or 0)
    assert engine > 0
    # The worker and the job's own process die at once (say, the OOM killer): no watchdog is left to act.
    worker.send_signal(signal.SIGKILL)
    os.kill(engine, signal.SIGKILL)
    worker.wait()
    assert _both_running(marks)  # the children live on, re-parented
    _start_worker(db_path, "rescuer", workers)
    wait_for(lambda: state_of(store, run_id) is RunState.CRASHED, PATIENCE)
    wait_for(lambda: _sleepers(marks) == [] and run_processes(run_id) == {}, PATIENCE)
