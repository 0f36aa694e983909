"""What every infrastructure (process, docker) offers the worker: start a job, watch it, stop it.

A job's output arrives line by line, in order, through the `on_output` callback given to `start`; it is called
from a reader thread and must not block for long. Lines are decoded as UTF-8 (invalid bytes replaced) and
given without their line ending. The engine's event lines are among them (see deploytool.engine.events).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from deploytool.engine import spec
from deploytool.errors import InfraError

LineSink = Callable[[str], None]
"""Receives each line of a job's output (stdout and stderr merged), without its line ending."""

log = logging.getLogger(__name__)


def deliver_lines(lines: Iterable[bytes], on_output: LineSink) -> None:
    """Give each raw line of a job's output to `on_output`: without its line ending (`\n`, `\r\n`), decoded as
    UTF-8 (invalid bytes replaced). A callback that fails is logged once, and reading goes on whatever happens: a
    reader that stopped would block the job on a full pipe."""
    complained = False
    for raw in lines:
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            on_output(line.decode("utf-8", errors="replace"))
        except Exception:
            if not complained:
                log.exception("output callback failed; further failures are not reported")
                complained = True


@dataclass(frozen=True)
class Job:
    """One run to start: its id, the rendered job configuration and environment variables added over it.

    `configuration` is the pool type's job configuration after templating (for process: command, env,
    working_dir, ...). `env` is set by the worker (the run spec, from RunSpec.to_env()) and wins over the
    configuration's env.
    """

    run_id: str
    configuration: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended.

    `exit_code` follows subprocess: a negative number -N means the job was killed by signal N. `stopped` is
    True when `stop()` ended it; `killed` when it had to be SIGKILLed after the grace period. `leftovers` counts
    processes of the job that were still alive after it exited and were killed then.
    """

    exit_code: int
    stopped: bool = False
    killed: bool = False
    leftovers: int = 0

    def describe(self) -> str:
        """A sentence for the run's state message."""
        code = self.exit_code
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = " (out of memory, or killed by hand)" if code == -signal.SIGKILL and not self.stopped else ""
            text = f"the job was killed by {name}{why}"
        else:
            text = f"the job exited with code {code}"
            if code in _KNOWN_EXIT_CODES:
                text += f" ({_KNOWN_EXIT_CODES[code]})"
        if self.stopped:
            text += ", after it was asked to stop" + (" and did not within the grace period" if self.killed else "")
        if self.leftovers:
            text += f"; {self.leftovers} process(es) it left running were killed"
        return text


_KNOWN_EXIT_CODES = {
    spec.EXIT_COMPLETED: "success",
    spec.EXIT_FAILED: "the flow failed",
    spec.EXIT_NOT_STARTED: "the flow could not be started",
    spec.EXIT_TIMED_OUT: "the flow timed out",
    126: "command not executable",
    127: "command not found",
    spec.EXIT_INTERRUPTED: "interrupted by SIGINT",
    137: "killed by SIGKILL, often out of memory",
    spec.EXIT_TERMINATED: "terminated by SIGTERM",
}


class JobProcess(Protocol):
    """The main process of a local job, as the process infrastructure tracks it: a `subprocess.Popen`, or a
    process forked by the warm-start zygote (deploytool.infra.zygote.WarmProcess). `pid` is also its process group
    and session id; `returncode` follows subprocess (-N: killed by signal N) and is None while it runs."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None:
        """The exit code once it has ended, else None. Never blocks."""
        ...

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code, once it has ended; raises subprocess.TimeoutExpired after `timeout` seconds."""
        ...


H = TypeVar("H")
H_co = TypeVar("H_co", covariant=True)


@dataclass(frozen=True)
class JobOwner:
    """Who starts the jobs: the worker and its pool (Docker labels its containers with both, to find them later)."""

    worker_name: str
    pool_name: str


@dataclass(frozen=True)
class JobInfo:
    """What a started job reports about itself: the id its infrastructure knows it by (recorded as the run's
    `infrastructure_id`: a pid, a container id) and a short description for the run's log."""

    infrastructure_id: str
    description: str


@dataclass(frozen=True)
class FoundJob:
    """A job found on the infrastructure after its worker stopped (see `OutlivingJobs.find`).

    `owner` is the worker that started it (from the job's own labels); `status` is the infrastructure's word for
    its state; `exit_code` is None while it runs; `auto_remove` says whether it is to be removed once finished;
    `keep_failed_hours`, how long it is kept first when its run FAILED or CRASHED (0: removed at once too).
    """

    run_id: str
    job_id: str
    name: str
    owner: str | None
    status: str
    running: bool
    exit_code: int | None
    auto_remove: bool
    started: bool = True  # False: created but never started
    keep_failed_hours: float = 0.0


class OutlivingJobs(Protocol[H_co]):
    """The capability of an infrastructure whose jobs outlive their worker (docker: containers keep running).

    A worker restarted under the same name finds them, re-attaches to its own and removes leftovers
    (deploytool.worker.reconcile). An infrastructure whose jobs die with their worker (process) has none.
    """

    def find(self, pool_name: str) -> list[FoundJob]:
        """Every job of a run of this pool that still exists (running or ended). Raises InfraError."""
        ...

    def attach(self, job_id: str, on_output: LineSink, *, since: float | None = None) -> H_co:
        """A handle on an existing job, as `start` would have returned; output from `since` (epoch seconds)."""
        ...

    def remove(self, job_id: str, grace_seconds: float = 0.0, *, stop_only: bool = False) -> None:
        """Stop a job nobody watches (`grace_seconds` between SIGTERM and SIGKILL), then remove it unless
        `stop_only`. A job already gone is fine."""
        ...

    def release(self, job_id: str, *, failed: bool) -> bool:
        """The ended job's run has its outcome and logs recorded: remove the job now, unless its configuration
        keeps it (not `auto_remove`; or `failed` and a keep time, after which `find` + `remove` clean it up).
        Returns whether it was removed. A job already gone is fine. Raises InfraError."""
        ...


class Infrastructure(Protocol[H]):
    """A way to execute jobs. `H` is the infrastructure's handle on one started job.

    Implementations take a `JobOwner` in their constructor (deploytool.infra.infrastructure_for builds them).
    """

    def start(self, job: Job, on_output: LineSink) -> H:
        """Start the job and return at once; output lines go to `on_output`. Raises InfraError if it cannot."""
        ...

    def describe(self, handle: H) -> JobInfo:
        """What the started job is: its infrastructure id and a description for the log. Never blocks."""
        ...

    def poll(self, handle: H) -> int | None:
        """The job's exit code if it has ended, else None. Never blocks."""
        ...

    def wait(self, handle: H, timeout: float | None = None) -> JobOutcome | None:
        """Wait up to `timeout` seconds (None: no limit) for the job to end; None if it is still running.

        Once the job has ended, all its output has been delivered and its resources are released.
        """
        ...

    def stop(self, handle: H, grace_seconds: float) -> JobOutcome:
        """End the job: ask it to stop (SIGTERM), wait `grace_seconds`, then kill it. Blocks until it is gone."""
        ...

    @property
    def outliving(self) -> OutlivingJobs[H] | None:
        """The capability for jobs that outlive their worker, or None when jobs die with it."""
        ...

    def problem(self) -> str | None:
        """Why no job could be started now (the Docker daemon does not answer), or None when one could. Asked
        with each heartbeat: the worker claims nothing while there is a problem, and its heartbeat says why."""
        ...


def layer_env(env: dict[str, str], config_env: Any, job_env: Mapping[str, str]) -> dict[str, str]:
    """`env`, then the job configuration's env over it (a null value removes a variable; other values go
    through str()), then the job's own env (the run spec), which wins."""
    if config_env is None:
        config_env = {}
    if not isinstance(config_env, Mapping):
        raise InfraError(f"the job configuration's env must be a mapping, not {type(config_env).__name__}")
    for key, value in config_env.items():
        if value is None:
            env.pop(str(key), None)
        else:
            env[str(key)] = value if isinstance(value, str) else str(value)
    env.update(job_env)
    return env
