"""A worker's settings: what it serves, how often it beats and polls, and how long it waits before killing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from math import isfinite

from deploytool.models import new_id, this_host

DEFAULT_HEARTBEAT_SECONDS = 5.0
LEASE_HEARTBEATS = 3  # a lease lasts three heartbeats: two may be missed before other workers recover the runs
DEFAULT_POLL_SECONDS = 0.1
DEFAULT_IDLE_POLL_SECONDS = 1.0  # an idle worker's pause grows to this (doubling from the poll interval)
DEFAULT_STOP_GRACE_SECONDS = 10.0
DEFAULT_SHUTDOWN_GRACE_SECONDS = 30.0
DEFAULT_TIMEOUT_GRACE_SECONDS = 5.0


def default_limit() -> int:
    """At most this many runs at once unless told otherwise: 2 per CPU, at least 4 (no stampede after downtime)."""
    return max(4, 2 * (os.cpu_count() or 2))


def default_name() -> str:
    """`<host>-<pid>-<4 hex>`: unique, and says where to look."""
    return f"{this_host()}-{os.getpid()}-{new_id()[:4]}"


@dataclass(frozen=True)
class WorkerOptions:
    """Everything `deploytool worker start` can set.

    `queues` None serves every queue of the pool. `lease_seconds` None means LEASE_HEARTBEATS heartbeats.
    `poll_seconds` is the pause between ticks while runs are active or one was just claimed; an idle worker's
    pause doubles with each pass that finds nothing due, up to `idle_poll_seconds` (docs/worker.md, "Idle"). A
    job that ends, or a change in the store that may make a run of the pool claimable, ends a pause at once.
    `stop_grace_seconds` is the time between SIGTERM and SIGKILL when the worker stops a job (cancel, timeout,
    shutdown). `shutdown_grace_seconds` is how long a stopping worker lets its runs finish by themselves.
    `timeout_grace_seconds` is added to a flow's timeout before the worker stops it from outside (the engine
    enforces the timeout itself first).
    """

    pool: str
    name: str = field(default_factory=default_name)
    queues: tuple[str, ...] | None = None
    limit: int = field(default_factory=default_limit)
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    lease_seconds: float | None = None
    poll_seconds: float = DEFAULT_POLL_SECONDS
    idle_poll_seconds: float = DEFAULT_IDLE_POLL_SECONDS
    stop_grace_seconds: float = DEFAULT_STOP_GRACE_SECONDS
    shutdown_grace_seconds: float = DEFAULT_SHUTDOWN_GRACE_SECONDS
    timeout_grace_seconds: float = DEFAULT_TIMEOUT_GRACE_SECONDS
    run_once: bool = False
    host: str = field(default_factory=this_host)

    @property
    def lease(self) -> float:
        return self.lease_seconds if self.lease_seconds is not None else LEASE_HEARTBEATS * self.heartbeat_seconds

    def problems(self) -> list[str]:
        """What is wrong with these options (empty when they are usable)."""
        found = []
        if not self.name or "/" in self.name or "%" in self.name:
            found.append(f"worker name {self.name!r} must be non-empty and contain no '/' or '%'")
        hidden = sorted({f"U+{ord(c):04X}" for c in self.name if not c.isprintable()})
        if hidden:  # a newline, an escape, or a bidi override (U+202E) would forge or garble log lines and listings
            found.append(
                f"worker name {self.name!r} contains control or invisible formatting characters ({', '.join(hidden)}):"
                " use letters, digits, '-', '_' and '.'"
            )
        if self.limit < 1:
            found.append(f"--limit must be at least 1, not {self.limit}")
        timings = (
            ("--heartbeat-seconds", self.heartbeat_seconds),
            ("--poll-seconds", self.poll_seconds),
            ("--shutdown-grace", self.shutdown_grace_seconds),
            ("--stop-grace", self.stop_grace_seconds),
        )
        infinite = [
            f"{label} must be a finite number of seconds, not {value:g}"
            for label, value in timings
            if not isfinite(value)
        ]
        if infinite:
            return found + infinite  # nan and inf compare as neither too small nor too large: stop here
        for label, value in timings[:2]:
            if value <= 0:
                found.append(f"{label} must be positive, not {value:g}")
        if self.lease <= self.heartbeat_seconds:
            found.append(f"the lease ({self.lease:g}s) must be longer than the heartbeat ({self.heartbeat_seconds:g}s)")
        for label, value in (
            ("--shutdown-grace", self.shutdown_grace_seconds),
            ("--stop-grace", self.stop_grace_seconds),
        ):
            if value < 0:
                found.append(f"{label} must not be negative, not {value:g}")
        if self.queues is not None and not self.queues:
            found.append("--work-queue was given with no queue names")
        return found
