"""Builders and waits shared by the worker tests: a store file, a process pool, flows written to disk."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from deploytool import jobvars
from deploytool.models import Deployment, FlowRun, RunState, WorkPool, utcnow
from deploytool.store import Store
from deploytool.worker.loop import Worker
from deploytool.worker.options import WorkerOptions

POOL = "p"
FAST = {"heartbeat_seconds": 0.5, "poll_seconds": 0.05, "idle_poll_seconds": 0.05, "stop_grace_seconds": 1.0}


def make_pool(store: Store, name: str = POOL) -> WorkPool:
    return store.pools.create(WorkPool(name, "process", base_job_template=jobvars.default_base_job_template("process")))


def write_flow(directory: Path, body: str, *, name: str = "flow.py", func: str = "main", options: str = "") -> str:
    """Write a flow file whose function `func` runs `body`; return the entrypoint."""
    code = "from deploytool import flow\n\n\n@flow({options})\ndef {func}(**kwargs):\n{body}\n".format(
        options=options, func=func, body=textwrap.indent(textwrap.dedent(body).strip() or "pass", "    ")
    )
    (directory / name).write_text(code)
    return f"{name}:{func}"


def ledger_flow(directory: Path, ledger: Path) -> str:
    """Write a flow that appends its run's id to `ledger`, one line per execution (O_APPEND: whole lines however
    many jobs write at once); return the entrypoint."""
    return write_flow(
        directory,
        f"import os\nfd = os.open({str(ledger)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
        "os.write(fd, (os.environ['DEPLOYTOOL_RUN_ID'] + '\\n').encode())\nos.close(fd)",
    )


def pid_file_flow(directory: Path, pid_file: Path) -> str:
    """Write a flow that writes its process id to `pid_file` and sleeps 60 s; return the entrypoint."""
    return write_flow(
        directory, f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)"
    )


def make_deployment(
    store: Store, project: Path, entrypoint: str, *, name: str = "d", pool: str = POOL, **fields: Any
) -> Deployment:
    """A deployment whose source file is `project/deploy.yaml` (so runs start in `project`)."""
    deployment = Deployment(
        flow_name="f", name=name, entrypoint=entrypoint, pool_name=pool, source_file=str(project / "deploy.yaml"),
        **fields,
    )  # fmt: skip
    stored, _ = store.deployments.upsert(deployment)
    return stored


def queue_run(store: Store, deployment: Deployment, **fields: Any) -> FlowRun:
    run = FlowRun(
        flow_name=deployment.flow_name,
        deployment_name=deployment.name,
        pool_name=deployment.pool_name,
        deployment_id=deployment.id,
        queue_name=deployment.queue_name,
    )
    return store.runs.create(replace(run, **fields))


def worker(store: Store, **options: Any) -> Worker:
    values: dict[str, Any] = {"pool": POOL, "name": "w1", **FAST}
    values.update(options)
    return Worker(store, WorkerOptions(**values))


# How long a wait gives up after: a safety net for a hung test, never a speed check (those are in benchmarks/).
# Generous, because a loaded 2-core machine can take seconds to start a job's interpreter.
WAIT_SECONDS = 60.0


def tick_until(
    w: Worker, predicate: Callable[[], bool], timeout: float = WAIT_SECONDS, now: Callable[[], datetime] = utcnow
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        w.tick(now())
        time.sleep(0.02)


def state_of(store: Store, run_id: str) -> RunState:
    return store.runs.get(run_id).state


def log_text(store: Store, run_id: str) -> str:
    return "\n".join(f"{x.level} {x.source} {x.message}" for x in store.logs.read(run_id, limit=100_000))


def alive(pid: int) -> bool:
    """Whether the process exists and has not ended (a zombie, ended but not yet reaped, has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
