"""Cancel and timeout: the worker stops the whole process tree and only then records the outcome."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from deploytool.engine.events import format_event
from deploytool.models import TERMINAL, RunState
from deploytool.store import Store
from tests.worker.helpers import (
    alive,
    log_text,
    make_deployment,
    queue_run,
    state_of,
    tick_until,
    wait_for,
    worker,
    write_flow,
)

STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen(["sleep", "300"])
escaped = subprocess.Popen([sys.executable, "-c",
    "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
with open({pids!r}, "w") as f:
    f.write(f"{{os.getpid()}} {{child.pid}} {{escaped.pid}}")
print("ready", flush=True)
time.sleep(300)
"""


def test_cancel_stops_a_flow_that_ignores_sigterm_and_its_children(store: Store, project: Path) -> None:
    pids_file = project / "pids"
    entry = write_flow(project, STUBBORN.format(pids=str(pids_file)))
    run = queue_run(store, make_deployment(store, project, entry))
    w = worker(store, stop_grace_seconds=1.0)
    w.register()
    tick_until(w, lambda: pids_file.exists() and "ready" in log_text(store, run.id))
    pids = [int(p) for p in pids_file.read_text().split()]
    assert all(alive(p) for p in pids)
    store.runs.set_state(run.id, RunState.CANCELLING, "cancelled by a test")
    w.tick()
    assert state_of(store, run.id) is RunState.CANCELLING  # not CANCELLED while the job is still there
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    assert not any(alive(p) for p in pids)
    done = store.runs.get(run.id)
    assert done.state is RunState.CANCELLED
    assert (done.state_message or "").startswith("cancelled: the job was killed by SIGKILL")
    assert "cancel requested" in log_text(store, run.id)


def test_cancel_before_start_is_recorded_without_a_job(store: Store, project: Path) -> None:
    run = queue_run(store, make_deployment(store, project, write_flow(project, "pass")))
    w = worker(store)
    w.register()
    claimed = store.runs.claim_next("p", None, "w1", 30, w.store.runs.get(run.id).scheduled_time)
    assert claimed is not None
    store.runs.set_state(run.id, RunState.CANCELLING, "cancel")
    w._launch(claimed, claimed.scheduled_time)
    assert store.runs.get(run.id).state is RunState.CANCELLED
    assert not w.active


def test_a_flow_timeout_fails_the_run(store: Store, project: Path) -> None:
    entry = write_flow(project, "import time\nprint('sleeping')\ntime.sleep(30)", options="timeout_seconds=0.5")
    run = queue_run(store, make_deployment(store, project, entry))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    done = store.runs.get(run.id)
    assert done.state is RunState.FAILED
    assert done.state_message == "timed out after 0.5 s"
    assert done.exit_code == 3


def test_the_worker_enforces_a_timeout_the_job_ignores(store: Store, project: Path) -> None:
    # A job that reports a 0.5 s timeout, then ignores it and SIGTERM: the worker stops it from outside.
    event = format_event("attempt_started", attempt=1, max_attempts=1, timeout_seconds=0.5)
    script = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"print({event!r}, flush=True)\ntime.sleep(60)\n"
    )
    (project / "job.py").write_text(script)
    deployment = make_deployment(
        store, project, "unused.py:main", job_variables={"command": f"{sys.executable} {project / 'job.py'}"}
    )
    run = queue_run(store, deployment)
    w = worker(store, timeout_grace_seconds=0.5, stop_grace_seconds=0.5)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    done = store.runs.get(run.id)
    assert done.state is RunState.FAILED
    assert (done.state_message or "").startswith("timed out after 0.5 s; stopped by the worker: the job was killed")
    assert "the worker stops it" in log_text(store, run.id)
    assert os.getpid()  # the worker itself is fine
    assert json.loads(event.split("::", 2)[2])["timeout_seconds"] == 0.5
    wait_for(lambda: not w.active)


def test_a_second_signal_stops_the_runs_at_once_and_says_so(store: Store, project: Path) -> None:
    entry = write_flow(project, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)")
    run = queue_run(store, make_deployment(store, project, entry))
    w = worker(store, shutdown_grace_seconds=60.0)
    w.register()
    # The flow's own line, not RUNNING in the store: on a loaded machine the job can still be starting then.
    tick_until(w, lambda: "sleeping" in log_text(store, run.id))
    w.request_shutdown("received SIGTERM")
    w.tick()
    w.request_shutdown("received SIGTERM")
    tick_until(w, lambda: w.done)
    done = store.runs.get(run.id)
    assert done.state is RunState.CRASHED
    assert (done.state_message or "").startswith("worker 'w1' shut down (received SIGTERM again: runs stopped at once)")
    w.close()
