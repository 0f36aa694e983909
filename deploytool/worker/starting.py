"""Starting a job off the worker's loop, and the states of jobs that never got going.

`infra.start()` can take minutes (a Docker image being pulled), so the worker's loop never calls it: each run's
watcher thread starts its job and then watches it (`StartingRun`). Meanwhile the loop keeps beating, renewing
leases and reading cancels. A stop asked for while the job is still starting is honoured at once: the run is
recorded (CANCELLED for a cancel) and the job, if it appears after all, is stopped and removed by the thread
that started it.

`JobOutput` is the run's output with two additions: the last lines of plain output (a container whose command
never reached deploytool's engine is explained from them: `job_state`), and `skip`, the number of log lines
already stored when a restarted worker replays a container's output from its start (deploytool.worker.reconcile).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deploytool.engine import events
from deploytool.errors import InfraError
from deploytool.infra.base import Infrastructure, Job, JobInfo
from deploytool.models import FlowRun, LogLine, RunState
from deploytool.worker.jobs import CANCEL, LOST, POLL_SECONDS, SHUTDOWN, TIMEOUT, ActiveRun
from deploytool.worker.outcome import final_state
from deploytool.worker.output import STDOUT, RunOutput

log = logging.getLogger("deploytool.worker")

TAIL_LINES = 20


@dataclass
class JobOutput(RunOutput):
    """A RunOutput that keeps the last plain lines and can skip the first `skip` log lines (already stored)."""

    skip: int = 0
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    def __call__(self, line: str) -> None:
        text, event = events.parse_line(line)
        now = datetime.now(UTC)
        with self._lock:
            produced: list[LogLine] = []
            if text is not None:
                produced.append(LogLine(self.run_id, now, "INFO", STDOUT, text))
                self.tail.append(text)
            if event is not None:
                produced.extend(self._on_event(event, now))
                if event["event"] == events.ATTEMPT_STARTED and self.attempt is not None:
                    self.attempt.started = _event_time(event, self.attempt.started)  # a replay keeps the real start
            if self.skip:
                dropped = min(self.skip, len(produced))
                self.skip -= dropped
                produced = produced[dropped:]
            self._keep(produced)


def _event_time(event: dict[str, Any], default: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        return default
    return when if when.tzinfo is not None else default


@dataclass
class StartingRun(ActiveRun):
    """An ActiveRun whose watcher thread first starts the job (`job`), or one attached to a running job (`handle`).

    `start_failure` is the (state, message) to record when the job never started: it could not be (an
    InfraError: a missing image, a registry or daemon error), or a stop was asked for before it had.
    """

    job: Job | None = None
    where: str = ""
    start_failure: tuple[RunState, str] | None = None
    info: JobInfo | None = None  # what the started job reports (its infrastructure id), once it has started
    info_recorded: bool = False  # the loop has stored `info.infrastructure_id` on the run
    abandoned: bool = False
    _started: threading.Event = field(default_factory=threading.Event)
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    def _watch(self, wake: threading.Event) -> None:
        if self.handle is None and not self._start():
            self._done.set()
            wake.set()
            return
        super()._watch(wake)

    def _start(self) -> bool:
        """Start the job in a thread of its own; False if it failed or a stop came first (start_failure says)."""
        threading.Thread(target=self._start_job, name=f"start-{self.run.id[:8]}", daemon=True).start()
        while not self._started.wait(POLL_SECONDS):
            if self._stop.is_set():
                with self._start_lock:
                    if not self._started.is_set():
                        self.abandoned = True
                        self.start_failure = not_started(self.stop_reason, self.stop_detail)
                        self.output.note(f"{self.start_failure[1]}; the job is discarded if it appears", "WARNING")
                        return False
        return self.start_failure is None

    def _start_job(self) -> None:
        assert self.job is not None
        handle: Any = None
        failure: tuple[RunState, str] | None = None
        image = self.job.configuration.get("image")
        if image:
            policy = self.job.configuration.get("image_pull_policy") or "IfNotPresent"
            self.output.note(f"starting a container from image {image} (image_pull_policy {policy})")
        try:
            handle = self.infra.start(self.job, self.output)
        except InfraError as exc:
            failure = (RunState.CRASHED, f"could not start the job: {exc}")
        except Exception as exc:  # a bug must cost one run, not the worker
            log.exception("run %s: starting the job failed", self.run.id)
            failure = (RunState.CRASHED, f"could not start the job: {exc!r}")
        with self._start_lock:
            abandoned = self.abandoned
            if not abandoned:
                self.handle, self.start_failure = handle, failure
                if failure is not None:
                    self.output.note(failure[1], "ERROR")
                else:
                    self.info = self.infra.describe(handle)
                    self.output.note(started_text(self.info, self.where, image))
                self._started.set()
        if abandoned and handle is not None:
            discard(self.infra, handle)


def start_job(
    run: FlowRun, output: RunOutput, infra: Infrastructure[Any], job: Job, where: str, now: datetime
) -> StartingRun:
    """The ActiveRun of a run whose job its watcher thread starts (call `watch()` on it)."""
    return StartingRun(run=run, output=output, infra=infra, handle=None, started=now, job=job, where=where)


def started_text(info: JobInfo, where: str, image: Any) -> str:
    if image:
        return f"started {info.description} from image {image}"
    return f"started the job ({info.description}) in {where or 'a new temporary directory'}"


def discard(infra: Infrastructure[Any], handle: Any) -> None:
    """Stop a job nobody wants any more (its run was recorded already) and remove what outlives it."""
    try:
        infra.stop(handle, 0.0)
        outliving = infra.outliving
        if outliving is not None:
            outliving.remove(infra.describe(handle).infrastructure_id)
    except Exception:
        log.exception("could not discard a job that started after its run was stopped")


def not_started(reason: str | None, detail: str) -> tuple[RunState, str]:
    """The state of a run stopped while its job was still starting (e.g. its image was being pulled)."""
    if reason == CANCEL:
        return RunState.CANCELLED, "cancelled while its job was starting (before the container or process ran)"
    if reason == TIMEOUT:
        return RunState.FAILED, f"{detail or 'timed out'} while its job was starting"
    if reason == SHUTDOWN:
        return RunState.CRASHED, f"the worker shut down {detail} while the job was starting".replace("  ", " ")
    if reason == LOST:
        return RunState.CRASHED, "the worker lost the run while its job was starting"
    return RunState.CRASHED, "stopped while its job was starting"


def job_state(active: StartingRun, worker_name: str) -> tuple[RunState, str]:
    """The state and message to record for an ended job: final_state, plus what only starting/docker adds."""
    if active.start_failure is not None:
        return active.start_failure
    state, message = final_state(active, worker_name)
    if state is RunState.CRASHED and active.output.started is None and active.stop_reason is None:
        message += engine_missing_hint(active)
    return state, message


def engine_missing_hint(active: StartingRun) -> str:
    """Why a job's command never reached deploytool's engine, from its last output lines (mostly: the image)."""
    image = active.job.configuration.get("image") if active.job is not None else None
    tail = list(active.output.tail) if isinstance(active.output, JobOutput) else []
    text = "\n".join(tail)
    last = next((line.strip() for line in reversed(tail) if line.strip()), "")
    said = f' (its last output: "{last[:200]}")' if last else ""
    if not image:
        return f"; deploytool's engine never started{said}"
    if "No module named deploytool" in text or "No module named 'deploytool'" in text:
        return (
            f"; the image {image} does not contain deploytool{said}: job_variables.image must be an image with "
            "deploytool installed (the build_docker_image step with dockerfile: auto installs it; see docs/docker.md)"
        )
    if "python" in text and ("not found" in text or "no such file" in text.lower()):
        return (
            f"; the image {image} has no python to run deploytool's engine{said}: job_variables.image must "
            "contain Python and deploytool (see docs/docker.md, 'An image that can run flows')"
        )
    return (
        f"; deploytool's engine never started in the container{said}: check that the image {image} contains "
        "deploytool and that job_variables.command (if set) runs `python -m deploytool.engine`"
    )
