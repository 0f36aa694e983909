"""Die with the worker: a job whose worker is gone (kill -9, OOM, power) must not run on unowned.

The worker records such a run CRASHED once its lease expires, so a job that kept running would be a zombie
that nobody watches, cancels or times out. A daemon thread notices when the engine's parent process changes
(it is re-parented to init or a subreaper) and stops the job's whole process group: SIGTERM first, so the
flow's `finally` blocks and the engine's `terminated` event run, then SIGKILL after a grace period.

Inside a container the engine is process 1 (its parent is outside the container's pid namespace), so the
watchdog does not start there; Docker's own labels and reconciliation cover that case.
"""

from __future__ import annotations

import os
import signal
import threading
import time

POLL_SECONDS = 0.5
KILL_AFTER_SECONDS = 5.0


def die_with_parent(poll_seconds: float = POLL_SECONDS) -> threading.Thread | None:
    parent = os.getppid()
    if parent <= 1 or os.getpid() == 1:
        return None
    thread = threading.Thread(target=_watch, args=(parent, poll_seconds), name="deploytool-parent-watch", daemon=True)
    thread.start()
    return thread


def _watch(parent: int, poll_seconds: float) -> None:
    while os.getppid() == parent:
        time.sleep(poll_seconds)
    group = os.getpgid(0)
    # Our own group only when we lead it (the process infrastructure starts each job in its own session);
    # otherwise just ourselves, never the group of whoever started us by hand.
    leader = group == os.getpid()
    try:
        if leader:
            os.killpg(group, signal.SIGTERM)
        else:
            os.kill(os.getpid(), signal.SIGTERM)
    except ProcessLookupError:
        return
    time.sleep(KILL_AFTER_SECONDS)
    try:
        if leader:
            os.killpg(group, signal.SIGKILL)
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    except ProcessLookupError:
        pass
