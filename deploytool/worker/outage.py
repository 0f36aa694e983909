"""A worker while its store is away: one log line when the store stops answering, one when it is back.

Meanwhile the worker's jobs go on running; their output waits in each run's bounded buffer
(deploytool.worker.logbuffer) and the outcome of a job that ends waits on the job itself (the loop records it
once a write succeeds); timeouts and shutdown are still enforced, since they need no store. When the store
answers again the next pass writes everything in order, and a run whose lease was recovered meanwhile by
another worker is stopped, its recorded outcome left as it is. docs/worker.md, "When the store is away".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime

from deploytool.errors import StoreUnavailableError
from deploytool.worker.jobs import ActiveRun

log = logging.getLogger("deploytool.worker")


class StoreOutage:
    """Whether the store is away, since when, and the two log lines that say so."""

    def __init__(self, worker_name: str) -> None:
        self.worker_name = worker_name
        self.since: float | None = None  # time.monotonic() of the last pass that reached the store, while away
        self._last_ok = time.monotonic()

    @property
    def away(self) -> bool:
        return self.since is not None

    def failed(self, exc: StoreUnavailableError, active: list[ActiveRun], now: datetime) -> None:
        """A pass could not reach the store at `now`: say so (once), and note the jobs that ended meanwhile."""
        self.note_ended(active, now)
        if self.since is not None:
            log.debug("worker %s: the store is still unreachable: %s", self.worker_name, exc.message)
            return
        self.since = self._last_ok
        log.warning(
            "worker %s: the store is unreachable (%s); %d run(s) keep running, their logs (%d line(s) so far) and"
            " outcomes are kept until it answers again",
            self.worker_name, exc.message, len(active), buffered(active),
        )  # fmt: skip

    def answered(self, active: list[ActiveRun]) -> None:
        """A pass reached the store: say so once after an outage."""
        self._last_ok = time.monotonic()
        if self.since is None:
            return
        seconds = self._last_ok - self.since
        self.since = None
        log.warning(
            "worker %s: the store answers again after %.0f s; buffered logs and outcomes recorded (%d line(s) left)",
            self.worker_name, seconds, buffered(active),
        )  # fmt: skip

    def note_ended(self, actives: Iterable[ActiveRun], now: datetime) -> None:
        """Remember when each job that ended while the store is away was seen ended: its recorded end time."""
        for active in actives:
            if active.done and active.ended is None:
                active.ended = now
                log.info(
                    "run %s: its job ended while the store is away; its outcome is recorded when the store answers",
                    active.run.id,
                )

    def left_behind(self, claiming: bool, active: list[ActiveRun]) -> bool:
        """True when a stopping worker has nothing left to wait for but the store: it is away and every job has
        ended (their outcomes wait). The worker then stops and leaves its runs to recovery (`gave_up`)."""
        return not claiming and self.away and all(a.done for a in active)

    def gave_up(self, exc: StoreUnavailableError, active: list[ActiveRun], lease_seconds: float) -> None:
        """Say, as the worker stops without the store, which runs it leaves to recovery, and what becomes of them."""
        for run in active:
            log.warning(
                "run %s (%s): its job has ended, but its outcome could not be recorded: left to recovery",
                run.run.id, run.run.name,
            )  # fmt: skip
        held = f"{len(active)} run(s) left to recovery ({', '.join(a.run.id for a in active)})" if active else ""
        log.error(
            "worker %s stops without reaching the store (%s): %s; other workers record its runs CRASHED (and"
            " re-queue any it had not started) once their lease of %gs expires; `deploytool worker ls` lists it as"
            " stale meanwhile",
            self.worker_name, exc.message, held or "no run of its own left to record", lease_seconds,
        )  # fmt: skip


def buffered(active: list[ActiveRun]) -> int:
    return sum(a.output.buffered for a in active)


def lost_run(run_id: str, worker_name: str, ended: bool, grace_seconds: float) -> None:
    """Say that the worker learnt it no longer holds a run (its lease was recovered while it was cut off)."""
    if ended:
        log.warning(
            "run %s is no longer held by worker %s: its job had ended, but the run was recovered meanwhile; its"
            " outcome is left as recorded",
            run_id, worker_name,
        )  # fmt: skip
    else:
        log.warning(
            "run %s is no longer held by worker %s: stopping its job (SIGTERM, then SIGKILL after %gs); its outcome"
            " is left as recorded",
            run_id, worker_name, grace_seconds,
        )  # fmt: skip
