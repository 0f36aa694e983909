"""The runs a worker has started, each watched by a small thread that owns its infrastructure handle.

The watcher thread is the only code that calls the infrastructure's `poll`/`wait`/`stop` for its job, so a
stop never races an exit. The worker's loop never blocks on a job: it asks for a stop (`request_stop`) and
collects the outcome once the job is gone (`done`). When a job ends, the watcher sets the worker's wake-up
event, so the outcome is recorded at once rather than at the next poll.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deploytool.infra.base import Infrastructure, JobOutcome
from deploytool.models import FlowRun
from deploytool.worker.output import RunOutput

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05

CANCEL, TIMEOUT, SHUTDOWN, LOST = "cancel", "timeout", "shutdown", "lost"
"""Why the worker stopped a job."""


@dataclass
class ActiveRun:
    """A run this worker started: its job's handle, its output and why (if at all) it is being stopped."""

    run: FlowRun
    output: RunOutput
    infra: Infrastructure[Any]
    handle: Any  # the infrastructure's handle on the job (None while a StartingRun is still starting it)
    started: datetime
    stop_reason: str | None = None
    stop_detail: str = ""
    outcome: JobOutcome | None = None
    error: BaseException | None = None
    ended: datetime | None = None  # when the loop saw it ended while the store was away (its recorded end time)
    _stop: threading.Event = field(default_factory=threading.Event)
    _grace: float = 0.0
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def watch(self, wake: threading.Event) -> None:
        """Start the watcher thread; `wake` is set when the job has ended."""
        self._thread = threading.Thread(target=self._watch, args=(wake,), name=f"watch-{self.run.id[:8]}", daemon=True)
        self._thread.start()

    def request_stop(self, reason: str, grace_seconds: float, detail: str = "") -> bool:
        """Ask the watcher to stop the job (SIGTERM, `grace_seconds`, SIGKILL). False if already asked."""
        if self.stop_reason is not None:
            return False
        self.stop_reason, self.stop_detail, self._grace = reason, detail, grace_seconds
        self._stop.set()
        return True

    def hurry(self, grace_seconds: float) -> None:
        """Shorten the grace of a stop not yet begun (a second SIGTERM to the worker)."""
        self._grace = min(self._grace, grace_seconds)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def join(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _watch(self, wake: threading.Event) -> None:
        try:
            while not self._stop.wait(POLL_SECONDS):
                if self.infra.poll(self.handle) is not None:
                    self.outcome = self.infra.wait(self.handle)
                    break
            else:
                self.outcome = self.infra.stop(self.handle, self._grace)
        except BaseException as exc:  # reported by the loop as a crash of the run, never lost
            log.exception("watching run %s failed", self.run.id)
            self.error = exc
        finally:
            self._done.set()
            wake.set()
