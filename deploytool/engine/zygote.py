"""The warm-start zygote: `python -m deploytool.engine.zygote`, started by a process worker (deploytool.infra.zygote).

It imports what every run needs (the engine, the flow API, ctypes for the subreaper) once, then waits on the
Unix socket its worker gave it (`DEPLOYTOOL_ZYGOTE_FD`) and forks one child per request. It never runs user code:
a run starts only in a child, so every run starts from the same state, as a fresh interpreter would.

The protocol (SOCK_SEQPACKET, one message per datagram):

- worker -> zygote: `spawn`, with two file descriptors (SCM_RIGHTS): the write end of the run's output pipe and
  the child's end of a per-run socket. The child reads its environment and working directory from that socket
  (the worker writes them there): the zygote never holds a run's environment, and with it the run spec and its
  secrets, in its memory.
- zygote -> worker: `ready` once the imports are done; `pid PID START` in answer to each `spawn` (START: the
  child's start time in clock ticks since boot, from /proc); `exit PID STATUS` when it has reaped a child
  (STATUS: the raw wait status).
- end of file on the socket (the worker exited or was killed): the zygote exits; its children do not depend on
  it (each watches the worker itself, deploytool.engine.orphan).

The child, before the engine starts: a session of its own (`setsid`), the pipe on stdout and stderr and
/dev/null on stdin, the signal dispositions and umask the zygote started with, `os.environ` replaced by the
run's environment (not merged), `/proc/self/environ` stamped with it (so the job's own markers are found there as
in a cold start), `sys.path` as a fresh interpreter with that environment's PYTHONPATH would have it, random
reseeded (the `random` module does so at fork), and the worker (not the zygote) as the process whose death ends
the job. Then it runs `deploytool.engine` as `__main__`, as `python -m deploytool.engine` does, and exits through
the interpreter's normal shutdown (threads joined, atexit handlers run). docs/engine.md, "Warm start".
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
import time
from typing import Any

from deploytool.engine.spec import ZYGOTE_FD_ENV, ZYGOTE_ROOM_ENV


class Pristine:
    """What a fresh interpreter started by the worker has, recorded by the zygote before it changes anything."""

    def __init__(self) -> None:
        invalid = (signal.SIGKILL, signal.SIGSTOP)
        self.signals = {s: signal.getsignal(s) for s in signal.valid_signals() if s not in invalid}
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.worker = os.getppid()
        self.worker_start = _start_time(self.worker)


def _path_prefix(cwd: str, pythonpath: str) -> list[str]:
    """The entries a fresh `python -m` puts before the standard library: its working directory, then
    PYTHONPATH's entries made absolute (against that directory), without duplicates (as `site` does)."""
    prefix: list[str] = []
    for entry in [cwd, *(pythonpath.split(os.pathsep) if pythonpath else [])]:
        # As CPython does: a relative entry is appended to the directory, then `site` normalises it (so in /,
        # "rel" becomes "//rel", which POSIX allows to mean something else than "/rel").
        full = os.path.normpath(entry if os.path.isabs(entry) else f"{cwd}/{entry}")
        if full not in prefix:
            prefix.append(full)
    return prefix


def _path_tail() -> list[str] | None:
    """sys.path after the entries that depend on the working directory and PYTHONPATH; None if sys.path does not
    start as expected (then the zygote refuses to serve: the worker starts its runs cold)."""
    prefix = _path_prefix(os.getcwd(), os.environ.get("PYTHONPATH", ""))
    if sys.path[: len(prefix)] != prefix:
        return None
    return sys.path[len(prefix) :]


def _preload() -> None:
    # What every run imports (the engine's main sequence and what it loads), and ctypes for the subreaper; and
    # what most flows import though a cold engine no longer does (logging, typing): paid once here, not per run.
    import ctypes  # noqa: F401
    import logging  # noqa: F401
    import runpy  # noqa: F401
    import typing  # noqa: F401

    import deploytool.engine.runner  # noqa: F401


def serve(channel: socket.socket) -> tuple[int, socket.socket] | None:
    """Answer spawn requests until the worker goes away (None); in a forked child, return its output pipe and
    per-run socket (the caller then becomes the run)."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w)
    channel.send(b"ready")
    while True:
        try:
            readable, _, _ = select.select([channel.fileno(), wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            os.read(wake_r, 4096)
            if not _reap(channel):
                return None
        if channel.fileno() in readable:
            message, fds, _, _ = socket.recv_fds(channel, 64, 2)
            if not message:
                return None  # the worker is gone
            if message != b"spawn" or len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                continue
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                for fd in (wake_r, wake_w):
                    os.close(fd)
                channel.close()
                os.set_inheritable(fds[1], False)  # received fds are inheritable: the flow's children get none
                return fds[0], socket.socket(fileno=fds[1])
            for fd in fds:
                os.close(fd)
            try:
                channel.send(f"pid {pid} {_start_time(pid)}".encode())
            except OSError:
                return None


def _reap(channel: socket.socket) -> bool:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return True
        try:
            channel.send(f"exit {pid} {status}".encode())
        except OSError:
            return False


def _start_time(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read()
    except OSError:
        return 0
    return int(text[text.rindex(b")") + 2 :].split()[19])


def become_run(output: int, run: socket.socket, tail: list[str], pristine: Pristine) -> None:
    """In the forked child: take on the run's environment, then run the engine as `__main__` (raises SystemExit)."""
    os.setsid()  # its own session and process group, as start_new_session gives a cold job
    for signum, handler in pristine.signals.items():
        if signal.getsignal(signum) is not handler and handler is not None:
            signal.signal(signum, handler)
    os.umask(pristine.umask)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    for fd in (devnull, output):
        os.close(fd)
    request = _receive(run)
    env: dict[str, str] = request["env"]
    cwd: str = request["cwd"]
    os.chdir(cwd)
    os.environ.clear()
    _clear_libc_environ()
    os.environ.update(env)
    _stamp_environ(env)
    time.tzset()
    sys.path[:] = _path_prefix(os.getcwd(), env.get("PYTHONPATH", "")) + tail
    sys.path_importer_cache.clear()

    from deploytool.engine import orphan, runner

    orphan.watch_instead_of_parent(pristine.worker, pristine.worker_start)

    def report(code: int) -> None:  # for the worker, should this zygote die before it reaps the child
        with contextlib.suppress(OSError):
            run.send(f"exit {code}\n".encode())

    runner.FINAL_LISTENERS.append(report)
    import runpy

    sys.argv[1:] = []
    runpy.run_module("deploytool.engine", run_name="__main__", alter_sys=True)


def _receive(run: socket.socket) -> dict[str, Any]:
    chunks = []
    while chunk := run.recv(65536):
        chunks.append(chunk)
    data: dict[str, Any] = json.loads(b"".join(chunks))
    return data


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _clear_libc_environ() -> None:
    # os.environ.clear() unsets what Python knows of; clearenv() also drops what C code may have set.
    with contextlib.suppress(OSError, AttributeError):
        _libc().clearenv()


def _stamp_environ(env: dict[str, str]) -> None:
    """Write the run's environment over the zygote's in this process's initial environment block, which is what
    /proc/PID/environ shows: the worker and the engine's watchdog find a job's processes by the markers there
    (DEPLOYTOOL_JOB_TOKEN, DEPLOYTOOL_RUN_ID), and a child forked without exec inherits this block. The markers
    come first; what does not fit in the block is left out of it (os.environ has it all)."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            stat = fh.read()
        fields = stat[stat.rindex(b")") + 2 :].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (proc(5): fields 50, 51)
    except (OSError, ValueError, IndexError):
        return
    first = ("DEPLOYTOOL_JOB_TOKEN", "DEPLOYTOOL_RUN_ID")
    entries = [f"{k}={env[k]}".encode() + b"\0" for k in first if k in env]
    entries += [f"{k}={v}".encode("utf-8", "surrogateescape") + b"\0" for k, v in env.items() if k not in first]
    block = b""
    for entry in entries:
        if len(block) + len(entry) > end - start:
            break
        block += entry
    block = block.ljust(end - start, b"\0")
    import ctypes

    ctypes.memmove(start, block, len(block))


def main() -> int:
    pristine = Pristine()
    fd = int(os.environ.pop(ZYGOTE_FD_ENV))
    os.environ.pop(ZYGOTE_ROOM_ENV, None)
    channel = socket.socket(fileno=fd)
    tail = _path_tail()
    if tail is None:
        channel.send(b"refuse sys.path does not start with the working directory and PYTHONPATH")
        return 1
    _preload()
    child = serve(channel)
    if child is None:
        return 0
    become_run(*child, tail, pristine)
    return 0  # not reached: the engine ends with SystemExit


if __name__ == "__main__":
    raise SystemExit(main())
