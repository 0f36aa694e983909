"""A job dies with its worker: kill -9 the process that started the engine, and the flow's process tree ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.engine.helpers import engine_env, make_spec, write_flow

FLOW = """
import os, subprocess, sys, time
from pathlib import Path
from deploytool import flow

@flow
def main(out: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    Path(out).write_text(f"{os.getpid()} {child.pid}")
    time.sleep(300)
"""

# Stands in for a worker: starts the engine in its own session (as the process infrastructure does), then waits.
PARENT = """
import json, subprocess, sys
spec_env = json.loads(sys.argv[1])
proc = subprocess.Popen([sys.executable, "-m", "deploytool.engine"], cwd=sys.argv[2], env=spec_env,
                        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(proc.pid, flush=True)
proc.wait()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting to be reaped by init is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_the_job_dies_with_its_worker(tmp_path: Path) -> None:
    write_flow(tmp_path, FLOW)
    out = tmp_path / "pids"
    env = engine_env(make_spec(parameters={"out": str(out)}))
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENT), json.dumps(env), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    engine_pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 20
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    flow_pid, child_pid = map(int, out.read_text().split())
    assert flow_pid == engine_pid and _alive(child_pid)

    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 60  # a safety net: the loop ends when both are gone
    while (_alive(engine_pid) or _alive(child_pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(engine_pid), "the engine outlived its worker"
    assert not _alive(child_pid), "the flow's child process outlived the worker"
