"""SIGTERM and SIGINT for a running worker: the first stops claiming and starts the shutdown grace period, the
second stops the runs at once (SIGTERM, stop grace, SIGKILL), the third kills them. Outcomes are always recorded.

A signal is acted on at once, whatever the worker is waiting for (a `--poll-seconds 600` pause, a store call):
the interpreter writes the signal's number to a pipe the moment it arrives (`signal.set_wakeup_fd`, a self-pipe),
and a small thread reading that pipe tells the worker (`Worker.request_shutdown`, which also ends its pause).
Nothing runs inside the signal handler itself, which can interrupt the main thread while it holds a lock.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from deploytool.worker.loop import Worker

HANDLED = (signal.SIGTERM, signal.SIGINT)


def _record_only(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing to do (the wake-up pipe carries the signal to the relay thread)."""


@contextmanager
def shutdown_on_signals(worker: Worker) -> Iterator[None]:
    """Route SIGTERM/SIGINT to the worker while the block runs (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)  # set_wakeup_fd needs it: a full pipe drops a byte, never blocks a handler
    relay = threading.Thread(target=_relay, args=(read_fd, worker), name="deploytool-signals", daemon=True)
    relay.start()
    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}
    old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    try:
        for sig in HANDLED:
            previous[sig] = signal.signal(sig, _record_only)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(old_fd)
        os.close(write_fd)  # the relay reads end-of-file and ends
        relay.join()
        os.close(read_fd)


def _relay(read_fd: int, worker: Worker) -> None:
    """Tell the worker of each signal number written to the pipe, until the pipe is closed."""
    while True:
        data = os.read(read_fd, 64)
        if not data:
            return
        for signum in data:
            if signum in HANDLED:
                worker.request_shutdown(f"received {signal.Signals(signum).name}")
