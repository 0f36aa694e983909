"""Whether a worker is online, stale or offline, what keeps it from taking runs, and so whether its pool is READY:
one rule, and one wording, for `worker ls`, `work-pool ls/inspect`, `flow-run why`, `run` and the dashboard.

- **online** while its heartbeats come (the last within its lease: 3 heartbeats, STALE_AFTER_SECONDS by default)
  and, for a worker on this host, its process runs;
- **stale** once its heartbeat is older than that, or its process is gone (a worker killed with `kill -9` is stale
  at once on its own host): its runs are or will be recovered;
- **offline** after ONLINE_WINDOW_SECONDS (90 s; its lease if that is longer) without a heartbeat.

A worker that stops cleanly deletes its record, so a listed stale or offline worker did not shut down.

A pool is READY while one of its workers is online and reports no problem (PAUSED while paused, else NOT_READY):
a pool whose only worker was killed is NOT_READY as soon as that worker is stale, not after Prefect's 90 s.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime

from deploytool.models import PoolStatus, WorkerHeartbeat, WorkerStatus, this_host
from deploytool.store.api import ONLINE_WINDOW_SECONDS

# A default lease (3 heartbeats of 5 s, deploytool.worker.options): a heartbeat older than that was missed.
STALE_AFTER_SECONDS = 15.0


def process_alive(pid: int) -> bool:
    """True while a process of this pid exists on this machine and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:  # noqa: PTH123
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def stale_after(worker: WorkerHeartbeat) -> float:
    """How long the worker's last heartbeat counts: the lease it beat with (STALE_AFTER_SECONDS when it did not
    say, a record of a deploytool before schema version 8)."""
    return worker.lease_seconds if worker.lease_seconds is not None else STALE_AFTER_SECONDS


def worker_status(worker: WorkerHeartbeat, now: datetime, here: str | None = None) -> WorkerStatus:
    """The worker's status at `now` (the rule above); `here` is this host's name (default: asked)."""
    age = (now - worker.last_heartbeat).total_seconds()
    lease = stale_after(worker)
    if age > max(ONLINE_WINDOW_SECONDS, lease):
        return WorkerStatus.OFFLINE
    if age > lease:
        return WorkerStatus.STALE
    if worker.host == (here if here is not None else this_host()) and not process_alive(worker.pid):
        return WorkerStatus.STALE
    return WorkerStatus.ONLINE


def cannot_take_runs(name: str, host: str, problem: str) -> str:
    """How every listing words what keeps worker `name` on `host` from taking runs (its Docker daemon does not
    answer): `worker W on H cannot take runs: PROBLEM`."""
    return f"worker {name} on {host} cannot take runs: {problem}"


def not_taking_runs(worker: WorkerHeartbeat, now: datetime, here: str | None = None) -> str | None:
    """Why `worker` takes no runs at `now`, worded alike everywhere; None while it takes them (online, no problem):
    `worker W on H is stale: its process (pid P) is gone`, `worker W on H is stale: its last heartbeat was 20 s
    ago`, `worker W on H is offline: ...`, or `worker W on H cannot take runs: PROBLEM`."""
    status = worker_status(worker, now, here)
    if status is WorkerStatus.ONLINE:
        return None if worker.problem is None else cannot_take_runs(worker.name, worker.host, worker.problem)
    age = (now - worker.last_heartbeat).total_seconds()
    gone = age <= stale_after(worker)  # stale with a heartbeat within its lease: its process is gone (this host)
    why = f"its process (pid {worker.pid}) is gone" if gone else f"its last heartbeat was {_ago(age)}"
    return f"worker {worker.name} on {worker.host} is {status.value}: {why}"


def pool_readiness(
    paused: bool, workers: Iterable[WorkerHeartbeat], now: datetime, here: str | None = None
) -> tuple[PoolStatus, str | None]:
    """A pool's status at `now` and why it is NOT_READY: PAUSED while `paused`; READY while one of its `workers`
    is online and reports no problem; else NOT_READY with each worker's `not_taking_runs`, joined by `; ` (None
    when the pool has no worker)."""
    if paused:
        return PoolStatus.PAUSED, None
    here = here if here is not None else this_host()
    reasons = []
    for worker in workers:
        reason = not_taking_runs(worker, now, here)
        if reason is None:
            return PoolStatus.READY, None
        reasons.append(reason)
    return PoolStatus.NOT_READY, "; ".join(reasons) or None


def _ago(seconds: float) -> str:
    """`20 s ago`, `5 min ago`, `3 h ago`, `2 d ago`."""
    for unit, size, below in (("s", 1, 120), ("min", 60, 7200), ("h", 3600, 172800)):
        if seconds < below:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds / 86400:.0f} d ago"
