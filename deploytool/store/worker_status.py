"""Whether a worker is online, stale or offline, and what keeps it from taking runs: one rule, and one wording,
for `worker ls`, `work-pool ls/inspect`, `flow-run why` and the dashboard.

- **online** while its heartbeats come (the last within STALE_AFTER_SECONDS, a default lease) and, for a worker
  on this host, its process runs;
- **stale** once its heartbeat is older than that, or its process is gone (a worker killed with `kill -9` is stale
  at once on its own host): its runs are or will be recovered;
- **offline** after ONLINE_WINDOW_SECONDS (90 s) without a heartbeat.

A worker that stops cleanly deletes its record, so a listed stale or offline worker did not shut down.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

from deploytool.models import WorkerHeartbeat, WorkerStatus
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


def worker_status(worker: WorkerHeartbeat, now: datetime, here: str | None = None) -> WorkerStatus:
    """The worker's status at `now` (the rule above); `here` is this host's name (default: asked)."""
    age = (now - worker.last_heartbeat).total_seconds()
    if age > ONLINE_WINDOW_SECONDS:
        return WorkerStatus.OFFLINE
    if age > STALE_AFTER_SECONDS:
        return WorkerStatus.STALE
    if worker.host == (here if here is not None else socket.gethostname()) and not process_alive(worker.pid):
        return WorkerStatus.STALE
    return WorkerStatus.ONLINE


def cannot_take_runs(name: str, host: str, problem: str) -> str:
    """How every listing words what keeps worker `name` on `host` from taking runs (its Docker daemon does not
    answer): `worker W on H cannot take runs: PROBLEM`."""
    return f"worker {name} on {host} cannot take runs: {problem}"
