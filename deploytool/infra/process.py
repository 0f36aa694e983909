"""The `process` pool type: each run is a local process, in its own session and process group.

The job configuration's keys used here: `command` (default `<this interpreter> -m deploytool.engine`; a string
is split like a shell would, a list is taken as is), `env` (merged over the worker's environment; a null value
unsets a variable) and `working_dir` (null: a fresh temporary directory, removed when the job ends).
`name`, `labels` and `stream_output` are not used here: output is always captured, because the engine's event
lines are in it.

Stopping sends SIGTERM to everything that belongs to the job, waits the grace period, then sends SIGKILL.
"Belongs" is: the process group and session the job was started in, and, on Linux, every descendant found
through /proc when the job is stopped or ends, even one that moved to a session of its own, and every process that
carries the job's token in its environment (each is checked by its start time, so a reused pid is never
signalled). A worker's infrastructure makes the worker a child subreaper (`adopt_orphans`), so nothing a job
starts leaves the worker's tree, and a job's leftovers are looked for there instead of in the whole process table
(deploytool.infra.proctree). The limit: a process that left the job's session, cleared its environment *and* whose
parent had already exited cannot be told apart from another job's; Docker infrastructure, whose container is a
cgroup, has no such gap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from deploytool.engine.spec import RUN_ID_ENV, SPEC_ENV
from deploytool.errors import InfraError
from deploytool.infra import proctree
from deploytool.infra.base import (
    Job,
    JobInfo,
    JobOutcome,
    JobOwner,
    JobProcess,
    LineSink,
    deliver_lines,
    layer_env,
)
from deploytool.infra.proctree import end_processes as end_processes
from deploytool.infra.zygote import WarmStart
from deploytool.settings import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 1024 * 1024  # a longer line is delivered in pieces
OUTPUT_DRAIN_SECONDS = 2.0  # how long to wait for the last output after the job exited
_POLL_INTERVAL = 0.05
JOB_TOKEN_ENV = "DEPLOYTOOL_JOB_TOKEN"  # unique per started job: its processes carry it (one attempt, not the run)
# A worker inside a job must not see the outer run's variables; and a flow never gets the key that decrypts the
# store's secrets (the worker decrypts the blocks a run needs before it starts: docs/stores.md#secrets-at-rest).
_INHERITED_BUT_NOT_PASSED = frozenset({SPEC_ENV, RUN_ID_ENV, JOB_TOKEN_ENV, SECRET_KEY_ENV, SECRET_KEY_FILE_ENV})


@dataclass
class ProcessHandle:
    """A started process job. `pid` is also its process group id and session id."""

    run_id: str
    popen: JobProcess  # a subprocess.Popen, or a process forked by the warm-start zygote (infra/zygote.py)
    temp_dir: Path | None
    reader: threading.Thread
    stopped: bool = False
    killed: bool = False
    outcome: JobOutcome | None = None
    token: str = ""  # this job's JOB_TOKEN_ENV value
    started: int = 0  # the main process's start time (clock ticks since boot; 0: unknown): its processes are younger
    adopted: bool = False  # started by a subreaper: its processes are all found among the worker's descendants
    _tree: dict[int, int] = field(default_factory=dict)  # pid -> start time: the job's processes seen so far

    @property
    def pid(self) -> int:
        return self.popen.pid


class ProcessInfrastructure:
    """Runs jobs as local processes. Implements deploytool.infra.base.Infrastructure[ProcessHandle].

    A process job dies with its worker (deploytool.engine.orphan), so there is no `outliving` capability.

    `adopt_orphans` (default: when built for a worker, with an `owner`) makes this process a child subreaper, so
    that the processes a job leaves are found among its own descendants (deploytool.infra.proctree).
    """

    def __init__(self, owner: JobOwner | None = None, *, adopt_orphans: bool | None = None) -> None:
        self.owner = owner
        self.warm = WarmStart()
        adopt = owner is not None if adopt_orphans is None else adopt_orphans
        self.adopts = proctree.become_subreaper() if adopt else False

    @property
    def outliving(self) -> None:
        return None

    def problem(self) -> None:
        """A local process can always be started."""

    def describe(self, handle: ProcessHandle) -> JobInfo:
        """The job's pid (also its process group and session id)."""
        return JobInfo(str(handle.pid), f"pid {handle.pid}")

    def start(self, job: Job, on_output: LineSink) -> ProcessHandle:
        """Start the job's command in a new session; output lines go to `on_output` from a reader thread."""
        config = job.configuration
        command = build_command(config.get("command"))
        env = build_env(config.get("env"), job.env)
        token = env[JOB_TOKEN_ENV] = uuid.uuid4().hex
        temp_dir: Path | None = None
        working_dir = config.get("working_dir")
        if working_dir in (None, ""):
            temp_dir = Path(tempfile.mkdtemp(prefix=f"deploytool-{_safe(job.run_id)}-"))
            cwd = temp_dir
        else:
            cwd = Path(str(working_dir)).expanduser().absolute()
            if not cwd.is_dir():
                raise InfraError(
                    f"working_dir {cwd} does not exist or is not a directory",
                    hint="create it, or set working_dir to null for a fresh temporary directory per run",
                )
        warm = self.warm.launch(config, config.get("command") in (None, "", []), env, str(cwd))
        try:
            popen, stdout = warm or _start_cold(command, cwd, env)
        except OSError as exc:
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)
            raise InfraError(
                f"could not start {shlex.join(command)}: {exc.strerror or exc}",
                hint="check the job configuration's `command` (default: this Python with -m deploytool.engine)",
            ) from None
        proctree.job_started(popen.pid)
        reader = threading.Thread(
            target=_read_lines, args=(stdout, on_output), name=f"output-{job.run_id}", daemon=True
        )
        reader.start()
        leader = proctree.stat(popen.pid)  # not reaped before wait(): its /proc entry is there
        return ProcessHandle(
            run_id=job.run_id,
            popen=popen,
            temp_dir=temp_dir,
            reader=reader,
            token=token,
            started=leader.start if leader is not None else 0,
            adopted=self.adopts,
        )

    def poll(self, handle: ProcessHandle) -> int | None:
        """The exit code if the job's main process has ended, else None. Never blocks."""
        return handle.popen.poll()

    def wait(self, handle: ProcessHandle, timeout: float | None = None) -> JobOutcome | None:
        """Wait up to `timeout` seconds for the job to end; None if it is still running (the caller may stop it).

        When the job has ended: processes it left behind are killed, its remaining output is delivered and its
        temporary directory removed, before the outcome is returned.
        """
        if handle.outcome is not None:
            return handle.outcome
        try:
            handle.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self._finish(handle)

    def stop(self, handle: ProcessHandle, grace_seconds: float) -> JobOutcome:
        """SIGTERM the job's processes, wait up to `grace_seconds` for them all to exit, then SIGKILL the rest."""
        if handle.outcome is not None:
            return handle.outcome
        handle.stopped = True
        _remember_tree(handle)
        _signal_tree(handle, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline:
            if handle.popen.poll() is not None and not _living(handle):
                break
            time.sleep(_POLL_INTERVAL)
        else:
            _remember_tree(handle)  # children started during the grace period
            if handle.popen.poll() is None:
                handle.killed = True
            _signal_tree(handle, signal.SIGKILL)
        handle.popen.wait()
        return self._finish(handle)

    def _finish(self, handle: ProcessHandle) -> JobOutcome:
        # The main process has exited. Whatever else of the job is still running would outlive the run: kill it.
        proctree.job_ended(handle.pid)
        _remember_tree(handle)
        leftovers = _living(handle)
        if leftovers:
            _signal_tree(handle, signal.SIGKILL)
            _wait_gone(handle, 2.0)
        for pid, start in handle._tree.items():  # those that ended as this process's zombies (it adopted them)
            if pid != handle.pid:
                proctree.reap(pid, start)
        # The reader ends at end-of-file; a process that escaped the kill may still hold the pipe open.
        handle.reader.join(OUTPUT_DRAIN_SECONDS)
        if handle.reader.is_alive():
            log.warning("run %s: output still open after the job ended; not waiting for more", handle.run_id)
        if handle.temp_dir is not None:
            shutil.rmtree(handle.temp_dir, ignore_errors=True)
        assert handle.popen.returncode is not None
        handle.outcome = JobOutcome(
            exit_code=handle.popen.returncode, stopped=handle.stopped, killed=handle.killed, leftovers=len(leftovers)
        )
        return handle.outcome


def _start_cold(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[JobProcess, IO[bytes]]:
    popen = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own session and process group: stop() can end the whole tree
        close_fds=True,
    )
    assert popen.stdout is not None
    return popen, popen.stdout


def build_command(command: Any) -> list[str]:
    """The argv to start: the configured command, or this interpreter running the engine."""
    if command in (None, "", []):
        return [sys.executable, "-m", "deploytool.engine"]
    if isinstance(command, str):
        return shlex.split(command)
    if isinstance(command, list) and all(isinstance(part, str) for part in command):
        return list(command)
    raise InfraError(f"the job configuration's command must be a string or a list of strings, not {command!r}")


def build_env(config_env: Any, job_env: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The job's environment: the worker's (minus run-specific variables), then the configuration's, then the job's.

    A null value in the configuration's env removes the variable; other values are converted with str().
    PYTHONUNBUFFERED=1 is set unless the configuration says otherwise, so output arrives as it is printed.
    """
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k not in _INHERITED_BUT_NOT_PASSED}
    env["PYTHONUNBUFFERED"] = "1"
    return layer_env(env, config_env, job_env)


def _read_lines(stream: IO[bytes], on_output: LineSink) -> None:
    with stream:
        deliver_lines(iter(lambda: stream.readline(MAX_LINE_BYTES), b""), on_output)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40]


def _remember_tree(handle: ProcessHandle) -> None:
    # Members of the job's session or group, plus all their descendants: a child that called setsid() is
    # still found through its parent. Remembered with their start times, because after the parent exits the
    # child is re-parented and only this record still links it to the job.
    if handle.adopted:
        table = proctree.adopted_table(handle.pid if handle.popen.returncode is None else None)
    else:
        table = proctree.process_table()
    if not table:
        return  # no /proc (not Linux): the process group is all we can reach
    leader = handle.pid
    members = {pid for pid, p in table.items() if p.session == leader or p.pgrp == leader}
    if handle.token:  # a double-forked daemon keeps the job's environment (and started after the job did)
        members |= set(proctree.carrying(f"{JOB_TOKEN_ENV}={handle.token}", table, since=handle.started))
    members |= {pid for pid in handle._tree if pid in table and table[pid].start == handle._tree[pid]}
    children: dict[int, list[int]] = {}
    for pid, p in table.items():
        children.setdefault(p.ppid, []).append(pid)
    pending = [*members, leader]
    while pending:
        pid = pending.pop()
        if pid in table and pid != os.getpid():
            if pid not in handle._tree:
                handle._tree[pid] = table[pid].start
            pending.extend(c for c in children.get(pid, []) if c not in handle._tree)


def _living(handle: ProcessHandle) -> list[int]:
    """The job's remembered processes that are still running (zombies count as gone), its main one excluded."""
    return [pid for pid, start in handle._tree.items() if pid != handle.pid and proctree.is_same_living(pid, start)]


def _signal_tree(handle: ProcessHandle, sig: signal.Signals) -> None:
    if handle.popen.returncode is None or not handle._tree:
        # The group, as created by start_new_session; works without /proc too. Once the main process is reaped
        # its pid (the group's id) may be reused, so then only the processes remembered from /proc are signalled.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(handle.pid, sig)
    for pid, start in list(handle._tree.items()):
        if pid == handle.pid:
            if handle.popen.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        elif proctree.is_same_living(pid, start):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def _wait_gone(handle: ProcessHandle, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _living(handle) and time.monotonic() < deadline:
        time.sleep(_POLL_INTERVAL)


def run_processes(run_id: str) -> dict[int, int]:
    """pid -> start time of every live process on this machine whose environment names this run
    (`DEPLOYTOOL_RUN_ID`, which every process of a job inherits unless it clears its environment)."""
    return proctree.carrying(f"{RUN_ID_ENV}={run_id}", None)
