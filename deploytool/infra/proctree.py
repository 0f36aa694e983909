"""The processes of jobs on this machine, from Linux's /proc: found, remembered by start time, signalled, reaped.

A job's processes are those of its session and process group, their descendants, and those that carry its token
in their environment (deploytool.infra.process). Where to look for them when a job ends:

- **Among the worker's own descendants** when the worker is a child subreaper (`become_subreaper`, Linux
  `prctl(PR_SET_CHILD_SUBREAPER)`). Then no process a job starts can leave the worker's tree: a process whose
  parent exits is re-parented to its nearest subreaper ancestor (the engine while it runs, then the worker), never
  to init. The kernel gives such orphans to the subreaper's first live thread, its main thread, so they are the
  children of `/proc/self/task/<pid>/children`; the worker starts its jobs from other threads, and the main
  processes of its other running jobs (`job_started`) are not descended into. At the end of a job that left
  nothing, that is one small read instead of a read of every process's `/proc/PID/stat`.
- **In the whole process table** otherwise (not Linux, the prctl refused, no `children` files).

A subreaper has to reap what it adopts: `reap` waits for a job's leftover that ended as the worker's zombie.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import NamedTuple

from deploytool.engine import orphan  # the prctl call the engine makes too

_POLL_INTERVAL = 0.05
_lock = threading.Lock()
_subreaper: bool | None = None  # None: not asked yet in this process
_job_mains: set[int] = set()  # the main processes of running jobs started by this process


class Proc(NamedTuple):
    ppid: int
    pgrp: int
    session: int
    state: str
    start: int  # clock ticks since boot: with the pid, identifies a process (a pid is reused, this pair is not)


def stat(pid: int) -> Proc | None:
    """The process's /proc/PID/stat, or None when it is gone."""
    # Plain open() of a str path: without adoption this runs for every process on the machine at every job's end.
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:  # noqa: PTH123
            text = fh.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
    fields = text[text.rindex(b")") + 2 :].split()
    return Proc(int(fields[1]), int(fields[2]), int(fields[3]), fields[0].decode("ascii", "replace"), int(fields[19]))


def process_table() -> dict[int, Proc]:
    """Every process on the machine (empty without /proc)."""
    table = {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):  # noqa: PTH208
            if name.isdigit() and (proc := stat(int(name))) is not None:
                table[int(name)] = proc
    return table


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants, once; True if it is one and its adopted children
    can be listed (Linux with /proc/PID/task/TID/children)."""
    global _subreaper
    with _lock:
        if _subreaper is None:
            _subreaper = orphan.become_subreaper() and _children_file(os.getpid()) is not None
        return _subreaper


def adopting() -> bool:
    """True when this process adopts its descendants' orphans (`become_subreaper` succeeded)."""
    return _subreaper is True


def job_started(pid: int) -> None:
    """`pid` is the main process of a running job: the search for another job's leftovers skips its tree."""
    with _lock:
        _job_mains.add(pid)


def job_ended(pid: int) -> None:
    """The job whose main process was `pid` has ended (and its main process was reaped)."""
    with _lock:
        _job_mains.discard(pid)


def _children_file(pid: int, tid: int | None = None) -> list[int] | None:
    try:
        with open(f"/proc/{pid}/task/{tid or pid}/children", "rb") as fh:  # noqa: PTH123
            return [int(c) for c in fh.read().split()]
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    """The children of every thread of `pid` (a process outside the worker: few threads, rarely any)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):  # noqa: PTH208
            found.extend(_children_file(pid, int(tid)) or [])
    return found


def adopted_table(keep: int | None) -> dict[int, Proc]:
    """This process's descendants that may belong to a finished or stopping job: the orphans it adopted (its main
    thread's children) and the job `keep` (its main process while it runs), with all their descendants; the
    trees of other running jobs are left out. Only valid when `adopting()`."""
    me = os.getpid()
    with _lock:
        skip = _job_mains - {keep}
    pending = [pid for pid in _children_file(me) or [] if pid not in skip]
    if keep is not None and keep not in pending:
        pending.append(keep)
    table: dict[int, Proc] = {}
    while pending:
        pid = pending.pop()
        if pid in table or (proc := stat(pid)) is None:
            continue
        table[pid] = proc
        pending.extend(c for c in _children(pid) if c not in skip)
    return table


def carrying(variable: str, table: dict[int, Proc] | None, since: int = 0) -> dict[int, int]:
    """The processes whose environment holds `variable` (NAME=VALUE); only those started at `since` or later
    (clock ticks since boot) are read: a process inherits its environment, so it is younger than its source."""
    marker = variable.encode()
    found = {}
    for pid, proc in (table if table is not None else process_table()).items():
        if pid != os.getpid() and proc.state not in ("Z", "X") and proc.start >= since:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/environ", "rb") as fh:  # noqa: PTH123
                if marker in fh.read().split(b"\0"):
                    found[pid] = proc.start
    return found


def is_same_living(pid: int, start: int) -> bool:
    proc = stat(pid)
    return proc is not None and proc.start == start and proc.state not in ("Z", "X")


def reap(pid: int, start: int) -> None:
    """Wait for `pid` if it is this process's zombie and the same process (`start`): an orphan this subreaper
    adopted. Never a child that something else in this process waits for: only a job's leftovers are passed."""
    proc = stat(pid)
    if proc is not None and proc.state == "Z" and proc.start == start and proc.ppid == os.getpid():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def end_processes(found: dict[int, int], grace_seconds: float) -> int:
    """End what is left on this machine of a run whose job nobody watches any more (its worker died): SIGTERM
    the processes `found` (pid -> start time, from `run_processes` at the moment the run was recovered, so that a
    later attempt of the run is never touched) and their descendants, up to `grace_seconds` for them to exit,
    then SIGKILL. Returns how many there were."""
    found = dict(found)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        table = process_table()
        pending = list(found)
        while pending:  # descendants of the leftovers (started since) belong to them
            parent = pending.pop()
            for pid, proc in table.items():
                if proc.ppid == parent and pid not in found:
                    found[pid] = proc.start
                    pending.append(pid)
        for pid, start in found.items():
            if is_same_living(pid, start):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
        deadline = time.monotonic() + grace_seconds
        while sig is signal.SIGTERM and time.monotonic() < deadline:
            if not any(is_same_living(pid, start) for pid, start in found.items()):
                return len(found)
            time.sleep(_POLL_INTERVAL)
    return len(found)
