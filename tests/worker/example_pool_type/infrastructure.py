"""A pool type that exists only in the test suite: it proves that a new type needs its registry entry, its base
job template and this module, nothing else (docs/architecture.md, "Adding a pool type").

Each job is a plain child process running the engine (no session of its own, no tree tracking): the simplest
`Infrastructure` there is. Its job configuration has one key of its own, `greeting`, printed before the engine
starts so the test sees that the template's values reach the infrastructure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass

from deploytool.infra.base import Job, JobInfo, JobOutcome, JobOwner, LineSink, layer_env
from deploytool.pooltypes import PoolType

ENTRY = PoolType(
    name="example",
    summary="each run is a plain child process (test suite only)",
    infrastructure="tests.worker.example_pool_type.infrastructure:ExampleInfrastructure",
    base_job_template="tests.worker.example_pool_type:template.json",
    job_noun="example job",
    local=True,
)


@dataclass
class ExampleHandle:
    popen: subprocess.Popen[bytes]
    reader: threading.Thread
    stopped: bool = False


class ExampleInfrastructure:
    def __init__(self, owner: JobOwner) -> None:
        self.owner = owner

    @property
    def outliving(self) -> None:
        return None

    def problem(self) -> None:
        """A process can always be started."""

    def start(self, job: Job, on_output: LineSink) -> ExampleHandle:
        config = job.configuration
        env = layer_env(dict(os.environ), config.get("env"), job.env)
        greeting = str(config["greeting"])
        code = (
            f"print({greeting!r}, flush=True); import runpy; runpy.run_module('deploytool.engine', run_name='__main__')"
        )
        popen = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=config.get("working_dir") or tempfile.mkdtemp(prefix="example-pool-"),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert popen.stdout is not None
        stream = popen.stdout

        def read() -> None:
            for raw in stream:
                on_output(raw.decode("utf-8", "replace").rstrip("\n"))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        return ExampleHandle(popen, reader)

    def describe(self, handle: ExampleHandle) -> JobInfo:
        return JobInfo(f"example-{handle.popen.pid}", f"example job {handle.popen.pid}")

    def poll(self, handle: ExampleHandle) -> int | None:
        return handle.popen.poll()

    def wait(self, handle: ExampleHandle, timeout: float | None = None) -> JobOutcome | None:
        try:
            code = handle.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        handle.reader.join()
        return JobOutcome(exit_code=code, stopped=handle.stopped)

    def stop(self, handle: ExampleHandle, grace_seconds: float) -> JobOutcome:
        handle.stopped = True
        handle.popen.terminate()
        try:
            handle.popen.wait(grace_seconds)
            killed = False
        except subprocess.TimeoutExpired:
            handle.popen.kill()
            handle.popen.wait()
            killed = True
        handle.reader.join()
        return JobOutcome(exit_code=handle.popen.returncode, stopped=True, killed=killed)
