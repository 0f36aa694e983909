"""What a worker tells an observer (metrics, deploytool.worker.metrics) about its work: a small typed seam.

The loop calls these at the moments they name and nothing else; the default observer does nothing, so a
worker without `--metrics-port` pays one method call per event and imports nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from deploytool.models import FlowRun


class WorkerObserver(Protocol):
    def ticked(self) -> None:
        """The loop began a pass (it is alive, whether or not the store answers)."""

    def heartbeat(self, now: datetime) -> None:
        """The worker beat (renewed its leases) at `now`."""

    def claimed(self, run: FlowRun, now: datetime) -> None:
        """The worker claimed `run` (PENDING) at `now`; it was due at `run.scheduled_time`."""

    def recorded(self, run: FlowRun) -> None:
        """The worker recorded `run`'s new state (as stored: state, start and end times)."""

    def active(self, count: int) -> None:
        """The worker now watches `count` runs."""


class NoObserver:
    """The observer of a worker that nobody observes."""

    def ticked(self) -> None:
        pass

    def heartbeat(self, now: datetime) -> None:
        pass

    def claimed(self, run: FlowRun, now: datetime) -> None:
        pass

    def recorded(self, run: FlowRun) -> None:
        pass

    def active(self, count: int) -> None:
        pass
