"""Warm start for process pools: one pre-started engine (a zygote) per worker forks a job per run.

`WarmStart.launch` is asked by the process infrastructure before it starts a job cold. It starts the job warm
when the job configuration's `warm_start` is true, its `command` is the default (this interpreter running the
engine), and the job's interpreter-level environment (PYTHON*, locale, HOME, TZ: what a fresh interpreter reads
at its start) is the zygote's; otherwise it returns None and the job starts cold, as before. The zygote
(`python -m deploytool.engine.zygote`, docs/engine.md "Warm start") is started at the first warm run, restarted
when it has died, and exits with the worker (end of file on its socket). If it cannot be started or does not
answer, the run starts cold and the worker logs it once.

The job's main process is then a `WarmProcess`, which offers the process infrastructure what `subprocess.Popen`
does (`deploytool.infra.base.JobProcess`): its pid (also its process group and session id), and its exit code
once the zygote has reaped it. Should the zygote die while its jobs run, they go on (each watches the worker, not
the zygote), and each exit code comes from the job's own report of its final event (a job killed by a signal
then reads as killed by SIGKILL).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from typing import IO, Any

from deploytool.engine.spec import ZYGOTE_FD_ENV, ZYGOTE_ROOM_BYTES, ZYGOTE_ROOM_ENV
from deploytool.infra import proctree

log = logging.getLogger(__name__)

VARIABLE = "warm_start"
"""The process pool's job variable that turns warm start on (true) or off (false, the default)."""
DEFAULT = False
START_SECONDS = 60.0  # how long the zygote may take to import the engine before the run starts cold
ANSWER_SECONDS = 30.0  # how long a spawn request may wait for the zygote's answer
UNREAPED_SECONDS = 5.0  # a job gone this long without the zygote's report: the zygote hangs, use the job's own
CHECK_SECONDS = 0.5
_INTERPRETER_NAMES = frozenset({"HOME", "TZ", "LANG", "LANGUAGE"})


class ZygoteError(Exception):
    """The zygote could not be started or did not answer: start the run cold."""


def interpreter_env(env: Mapping[str, str]) -> dict[str, str]:
    """The part of a job's environment a fresh interpreter reads before it runs anything (sys.path, user site,
    encodings, hash seed, time zone...): a warm job must have the zygote's."""
    return {k: v for k, v in env.items() if k.startswith(("PYTHON", "LC_")) or k in _INTERPRETER_NAMES}


class WarmProcess:
    """A job's main process, forked by the zygote. Implements deploytool.infra.base.JobProcess.

    Its exit code comes from the zygote, which reaps it. Should the zygote not do so (it died, or it hangs) for
    `UNREAPED_SECONDS` after the process is gone, the code is the one the job reported itself at its final event
    (a job killed by a signal reports nothing: it reads as killed by SIGKILL)."""

    def __init__(self, status: socket.socket) -> None:
        self.pid = 0
        self.start = 0  # clock ticks since boot, from /proc: with the pid, names this process and no other
        self.returncode: int | None = None
        self._status = status  # the job's own report of its exit code
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._gone_since: float | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self.pid:
            self._check()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = CHECK_SECONDS if deadline is None else min(CHECK_SECONDS, deadline - time.monotonic())
            if left <= 0:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            self._done.wait(left)
        assert self.returncode is not None
        return self.returncode

    def _exited(self, code: int) -> None:
        with self._lock:
            if self.returncode is not None:
                return
            self.returncode = code
            self._status.close()
        self._done.set()

    def _check(self) -> None:
        # The zygote reports an exit within milliseconds; a process gone for longer was not reaped by it.
        if _same_living(self.pid, self.start):
            self._gone_since = None
            return
        now = time.monotonic()
        if self._gone_since is None:
            self._gone_since = now
        elif now - self._gone_since >= UNREAPED_SECONDS:
            self._exited(self._reported())

    def _orphaned(self) -> None:
        # The zygote died before it reaped this process: wait for it to end, then use its own report.
        while _same_living(self.pid, self.start):
            time.sleep(CHECK_SECONDS / 10)
        self._exited(self._reported())

    def _reported(self) -> int:
        code = -signal.SIGKILL
        with self._lock, contextlib.suppress(OSError):
            self._status.setblocking(False)
            for line in self._status.recv(4096).decode(errors="replace").splitlines():
                if line.startswith("exit ") and line[5:].lstrip("-").isdigit():
                    code = int(line[5:])
        return code


class Zygote:
    """One zygote process and the worker's side of its socket."""

    def __init__(self, interpreter: Mapping[str, str]) -> None:
        self.interpreter = dict(interpreter)
        self._lock = threading.Lock()  # one spawn at a time: answers come in the order of the requests
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._answers: queue.Queue[bool] = queue.Queue()
        self._pending: WarmProcess | None = None
        self._children: dict[int, WarmProcess] = {}
        self._children_lock = threading.Lock()
        self.broken = False  # it could not be started: runs start cold without trying again

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and self._channel is not None

    def spawn(self, env: Mapping[str, str], cwd: str) -> tuple[WarmProcess, IO[bytes]]:
        """Fork a job with this environment and working directory; its output is the returned stream."""
        with self._lock:
            if self.broken:
                raise ZygoteError("the zygote could not be started before")
            if not self.alive():
                self._start()
            assert self._channel is not None
            out_r, out_w = os.pipe()
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            process = self._pending = WarmProcess(mine)
            try:
                socket.send_fds(self._channel, [b"spawn"], [out_w, theirs.fileno()])
                answered = self._answers.get(timeout=ANSWER_SECONDS)
            except (OSError, queue.Empty) as exc:
                os.close(out_r)
                mine.close()
                self._kill()
                raise ZygoteError(f"the zygote did not answer ({type(exc).__name__})") from None
            finally:
                os.close(out_w)
                theirs.close()
                self._pending = None
            if not answered:
                os.close(out_r)
                mine.close()
                raise ZygoteError(f"the zygote exited ({self._describe_exit()})")
        # The run's environment (its spec, its secrets) goes straight to the child, never through the zygote.
        with contextlib.suppress(OSError):  # a child that died at once: its exit is reported all the same
            mine.sendall(json.dumps({"env": dict(env), "cwd": cwd}).encode())
            mine.shutdown(socket.SHUT_WR)
        return process, os.fdopen(out_r, "rb")

    def close(self) -> None:
        """Stop the zygote (its children go on: they watch the worker, not the zygote)."""
        with self._lock:
            self._kill()

    def _start(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**self.interpreter, ZYGOTE_FD_ENV: str(theirs.fileno()), ZYGOTE_ROOM_ENV: "x" * ZYGOTE_ROOM_BYTES}
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "deploytool.engine.zygote"],
                env=env,
                cwd="/",
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C meant for the worker's terminal is not for the zygote
            )
        except OSError as exc:
            mine.close()
            self.broken = True
            raise ZygoteError(f"could not start the zygote: {exc.strerror or exc}") from None
        finally:
            theirs.close()
        mine.settimeout(START_SECONDS)
        try:
            hello = mine.recv(4096)
        except OSError:
            hello = b""
        if hello != b"ready":
            mine.close()
            self._kill()
            self.broken = True
            why = hello.decode(errors="replace").removeprefix("refuse ") or self._describe_exit()
            raise ZygoteError(f"the zygote did not start: {why}")
        mine.settimeout(None)
        self._channel = mine
        self._answers = queue.Queue()
        threading.Thread(target=self._read, args=(mine,), name="deploytool-zygote", daemon=True).start()

    def _read(self, channel: socket.socket) -> None:
        while True:
            try:
                message = channel.recv(256)
            except OSError:
                message = b""
            if not message:
                break
            kind, _, rest = message.decode(errors="replace").partition(" ")
            numbers = [int(word) for word in rest.split()]
            if kind == "pid" and self._pending is not None:
                self._pending.pid, self._pending.start = numbers
                with self._children_lock:
                    self._children[numbers[0]] = self._pending
                self._answers.put(True)
            elif kind == "exit":
                with self._children_lock:
                    child = self._children.pop(numbers[0], None)
                if child is not None:
                    child._exited(os.waitstatus_to_exitcode(numbers[1]))
        # The zygote is gone: a request waiting for it starts cold, and running jobs are watched without it.
        if self._channel is channel:
            self._channel = None
        self._answers.put(False)
        with self._children_lock:
            orphans, self._children = list(self._children.values()), {}
        for child in orphans:
            threading.Thread(target=child._orphaned, name=f"deploytool-warm-{child.pid}", daemon=True).start()

    def _kill(self) -> None:
        if self._channel is not None:
            with contextlib.suppress(OSError):
                self._channel.shutdown(socket.SHUT_RDWR)
            self._channel = None
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            self._proc.wait()

    def _describe_exit(self) -> str:
        if self._proc is None:
            return "not started"
        code = self._proc.wait()
        return f"exit code {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"


class WarmStart:
    """The process infrastructure's warm-start path: a zygote, started when first needed."""

    def __init__(self) -> None:
        self._zygote: Zygote | None = None
        self._lock = threading.Lock()
        self._complained = False
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def launch(
        self, configuration: Mapping[str, Any], default_command: bool, env: Mapping[str, str], cwd: str
    ) -> tuple[WarmProcess, IO[bytes]] | None:
        """The job started warm (its main process and output), or None: start it cold."""
        if not enabled(configuration) or not default_command or not sys.platform.startswith("linux"):
            return None
        interpreter = interpreter_env(env)
        with self._lock:
            if self._zygote is None:
                self._zygote = Zygote(interpreter)
                # Stopped with the worker: when its infrastructure goes away, or at the latest when it exits.
                self._finalizer = weakref.finalize(self, self._zygote.close)
            zygote = self._zygote
        if zygote.interpreter != interpreter:
            return None  # another interpreter environment than the zygote's: as a fresh interpreter would start
        try:
            return zygote.spawn(env, cwd)
        except ZygoteError as exc:
            if not self._complained:
                self._complained = True
                log.warning("warm start failed: %s; this run and any other that cannot start warm start cold", exc)
            return None

    def close(self) -> None:
        with self._lock:
            finalizer, self._zygote, self._finalizer = self._finalizer, None, None
        if finalizer is not None:
            finalizer()


def enabled(configuration: Mapping[str, Any]) -> bool:
    """The job configuration's `warm_start` (missing: the default, for pools created before it existed)."""
    value = configuration.get(VARIABLE, DEFAULT)
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))


def _same_living(pid: int, start: int) -> bool:
    proc = proctree.stat(pid)
    return proc is not None and proc.start == start and proc.state not in ("Z", "X")
