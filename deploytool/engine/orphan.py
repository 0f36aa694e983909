"""Die with the worker, and take every process of the job along: a job whose worker is gone (kill -9, OOM,
power) must not run on unowned, and neither may anything it started.

The worker records such a run CRASHED once its lease expires, so a job that kept running would be a zombie
that nobody watches, cancels or times out. Two things make sure nothing of it is left:

- **The engine is a child subreaper** (Linux `prctl(PR_SET_CHILD_SUBREAPER)`): a process the flow started whose
  parent exits (a shell that ran `cmd &`, a daemon that double-forked, a child that called `setsid()`) is
  re-parented to the engine instead of to init, so it stays a descendant of the job and can be found.
- **A watchdog thread** notices when the engine's parent changes (it was re-parented: the worker died). It then
  ends the job's other processes *first*: every descendant, every process of its process group and session,
  and every process that carries this job's `DEPLOYTOOL_JOB_TOKEN` in its environment, each checked by its start
  time so a reused pid is never signalled. They get SIGTERM, `KILL_AFTER_SECONDS` to exit, then SIGKILL (one
  that ignores SIGTERM included). Only then is the engine itself stopped (SIGTERM: the flow's `finally` blocks
  run and the `terminated` event is written; SIGKILL `KILL_AFTER_SECONDS` later). The escalation therefore
  never depends on the flow process still being alive when the SIGKILL is due.

Inside a container the engine is process 1 (its parent is outside the container's pid namespace), so the
watchdog does not start there; Docker's own labels and reconciliation cover that case. What remains
impossible is in docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

POLL_SECONDS = 0.5
KILL_AFTER_SECONDS = 5.0
PR_SET_CHILD_SUBREAPER = 36
JOB_TOKEN_ENV = "DEPLOYTOOL_JOB_TOKEN"  # deploytool.infra.process.JOB_TOKEN_ENV: unique per started job

_owner: tuple[int, int] | None = None  # (pid, start time) of the worker to watch instead of the parent


def watch_instead_of_parent(pid: int, start: int) -> None:
    """Make `die_with_parent` watch this process (its pid and start time) instead of the parent: a job forked by
    the warm-start zygote belongs to the worker, not to the zygote (deploytool.engine.zygote)."""
    global _owner
    _owner = (pid, start)


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux only); True if it now is."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(poll_seconds: float = POLL_SECONDS) -> threading.Thread | None:
    parent = os.getppid()
    if parent <= 1 or os.getpid() == 1:
        return None
    become_subreaper()
    thread = threading.Thread(
        target=_watch, args=(parent, _owner, poll_seconds), name="deploytool-parent-watch", daemon=True
    )
    thread.start()
    return thread


def _watch(parent: int, owner: tuple[int, int] | None, poll_seconds: float) -> None:
    if owner is None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
    else:
        while _alive(*owner):
            time.sleep(poll_seconds)
    end_job_tree(KILL_AFTER_SECONDS)
    group = os.getpgid(0)
    # Our own group only when we lead it (the process infrastructure starts each job in its own session);
    # otherwise just ourselves, never the group of whoever started us by hand.
    leader = group == os.getpid()
    _signal_self(leader, group, signal.SIGTERM)
    time.sleep(KILL_AFTER_SECONDS)
    end_job_tree(0.0)  # anything the flow started while it unwound
    _signal_self(leader, group, signal.SIGKILL)


def _signal_self(leader: bool, group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if leader:
            os.killpg(group, sig)
        else:
            os.kill(os.getpid(), sig)


def end_job_tree(grace_seconds: float) -> int:
    """SIGTERM every other process of this job, wait up to `grace_seconds` for them, SIGKILL the rest.

    Returns how many processes were found. Without /proc (not Linux) only the process group is signalled.
    """
    found = job_processes()
    if not found:
        return 0
    for pid, start in found.items():
        _signal(pid, start, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(_alive(pid, start) for pid, start in found.items()):
        time.sleep(0.05)
    found.update(job_processes())  # started meanwhile
    for pid, start in found.items():
        _signal(pid, start, signal.SIGKILL)
    return len(found)


def job_processes() -> dict[int, int]:
    """pid -> start time of every process of this job but this one: descendants, group and session members, and
    processes whose environment names this run."""
    me = os.getpid()
    table = _table()
    if not table:
        return {}
    session, group = os.getsid(0), os.getpgid(0)
    token = os.environ.get(JOB_TOKEN_ENV, "")  # this job's own processes, not a later attempt of the run
    marker = f"{JOB_TOKEN_ENV}={token}".encode() if token else None
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    # The group and session only when this process leads them (the process infrastructure starts each job in a
    # session of its own); an engine started by hand must never signal the group of whoever started it.
    mine = {x for x in (session, group) if x == me}
    members = {pid for pid, (_, pgrp, sid, _, _) in table.items() if sid in mine or pgrp in mine}
    if marker is not None:
        members |= {pid for pid in table if _has_marker(pid, marker)}
    pending = [*members, *children.get(me, [])]
    found: dict[int, int] = {}
    while pending:
        pid = pending.pop()
        if pid in found or pid == me or pid not in table:
            continue
        found[pid] = table[pid][4]
        pending.extend(children.get(pid, []))
    return {pid: start for pid, start in found.items() if table[pid][3] not in ("Z", "X")}


def _has_marker(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return marker in fh.read().split(b"\0")
    except OSError:
        return False


def _table() -> dict[int, tuple[int, int, int, str, int]]:
    """pid -> (ppid, pgrp, session, state, start time) from /proc."""
    table = {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit() and (entry := _stat(int(name))) is not None:
                table[int(name)] = entry
    return table


def _stat(pid: int) -> tuple[int, int, int, str, int] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[2]), int(fields[3]), fields[0], int(fields[19])


def _alive(pid: int, start: int) -> bool:
    entry = _stat(pid)
    return entry is not None and entry[4] == start and entry[3] not in ("Z", "X")


def _signal(pid: int, start: int, sig: signal.Signals) -> None:
    if _alive(pid, start):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
