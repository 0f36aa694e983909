"""Following one run's container (deploytool.infra.docker): the handle, and its two threads: one blocks in the
daemon's `wait` for the exit code (`wait_exit`), one streams the container's output line by line (`read_logs`);
then the OOM flag is read (`oom_killed`). The Docker SDK is imported inside functions only."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from deploytool.infra.base import JobOutcome, LineSink, deliver_lines

log = logging.getLogger("deploytool.infra.docker")

MAX_LINE_BYTES = 1024 * 1024  # a longer line is delivered in pieces
OUTPUT_DRAIN_SECONDS = 5.0  # how long to wait for the last output after the container exited
OOM_FLAG_SECONDS = 1.5  # how long a container that exited 137 is watched for its OOMKilled flag
DAEMON_LOST_SECONDS = 300.0  # give up on a container whose daemon has not answered for this long


@dataclass(frozen=True)
class DockerOutcome(JobOutcome):
    """A JobOutcome with what Docker adds: whether the kernel killed the container for memory, and why else."""

    oom_killed: bool = False
    container_id: str = ""
    detail: str = ""

    def describe(self) -> str:
        if self.oom_killed:
            text = f"the container ran out of memory and was killed (exit code {self.exit_code}, OOMKilled)"
        elif self.exit_code == 137 and not self.stopped:
            text = "the container was killed by SIGKILL (exit code 137; not out of memory: by hand, or by its host)"
        else:
            text = super().describe()
        return f"{text}; {self.detail}" if self.detail else text


@dataclass
class DockerHandle:
    """A followed container. `client` is the handle's own connection, for its blocking wait and log stream."""

    run_id: str
    container_id: str
    name: str
    auto_remove: bool
    client: Any
    ended: threading.Event = field(default_factory=threading.Event)
    exit_code: int | None = None
    detail: str = ""
    stopped: bool = False
    killed: bool = False
    outcome: DockerOutcome | None = None
    reader: threading.Thread | None = None
    stream: Any = None  # the log stream, closed if it outlives the container
    lock: threading.Lock = field(default_factory=threading.Lock)


def wait_exit(handle: DockerHandle) -> None:
    """Block in the daemon's wait; on a broken connection, keep asking until the daemon has been gone too long."""
    import docker.errors

    lost_since: float | None = None
    while True:
        try:
            result = handle.client.api.wait(handle.container_id, timeout=None)
            handle.exit_code = int(result.get("StatusCode", -1))
            error = (result.get("Error") or {}).get("Message")
            if error:
                handle.detail = f"Docker: {error}"
            break
        except docker.errors.NotFound:
            handle.detail = "the container was removed before its exit code could be read"
            break
        except Exception as exc:
            now = time.monotonic()
            if lost_since is None:
                lost_since = now
                log.warning("run %s: lost the Docker daemon while waiting (%s); retrying", handle.run_id, exc)
            if now - lost_since > DAEMON_LOST_SECONDS:
                handle.detail = f"the Docker daemon did not answer for {DAEMON_LOST_SECONDS:.0f} s: {exc}"
                break
            time.sleep(2.0)
    handle.ended.set()


def oom_killed(handle: DockerHandle, patient: bool) -> bool:
    """State.OOMKilled. The daemon may record the OOM event just after the exit: for a 137, ask for a while."""
    deadline = time.monotonic() + (OOM_FLAG_SECONDS if patient else 0.0)
    while True:
        try:
            state = handle.client.api.inspect_container(handle.container_id).get("State") or {}
        except Exception:
            return False
        if state.get("OOMKilled") or time.monotonic() >= deadline:
            return bool(state.get("OOMKilled"))
        time.sleep(0.1)


def read_state(handle: DockerHandle) -> None:
    """After a stop whose exit the waiter did not see: read the state directly."""
    with contextlib.suppress(Exception):
        state = handle.client.api.inspect_container(handle.container_id).get("State") or {}
        if state.get("Status") in ("exited", "dead"):
            handle.exit_code = int(state.get("ExitCode", -1))


def read_logs(handle: DockerHandle, on_output: LineSink, since: float | None) -> None:
    deliver_lines(_log_lines(handle, since), on_output)


def _log_lines(handle: DockerHandle, since: float | None) -> Iterator[bytes]:
    """The container's output, line by line (a longer line in pieces of MAX_LINE_BYTES), until its stream ends."""
    buffer = b""
    try:
        handle.stream = handle.client.api.logs(
            handle.container_id, stdout=True, stderr=True, stream=True, follow=True, since=since
        )
        for chunk in handle.stream:
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0:
                yield buffer[:end]
                buffer = buffer[end + 1 :]
            while len(buffer) > MAX_LINE_BYTES:
                yield buffer[:MAX_LINE_BYTES]
                buffer = buffer[MAX_LINE_BYTES:]
    except Exception as exc:
        if not handle.outcome:
            log.warning("run %s: the container's output stream ended: %s", handle.run_id, exc)
    if buffer:
        yield buffer
