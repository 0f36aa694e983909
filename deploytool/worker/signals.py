"""SIGTERM and SIGINT for a running worker: the first stops claiming and starts the shutdown grace period, the
second stops the runs at once (SIGTERM, stop grace, SIGKILL), the third kills them. Outcomes are always recorded.

The handlers only record the signal (`Worker.request_shutdown`); the loop acts on it at its next tick, at most
one idle poll interval later. Nothing that takes a lock runs inside a signal handler.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from deploytool.worker.loop import Worker

HANDLED = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def shutdown_on_signals(worker: Worker) -> Iterator[None]:
    """Route SIGTERM/SIGINT to the worker while the block runs (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        worker.request_shutdown(f"received {signal.Signals(signum).name}")

    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}
    for sig in HANDLED:
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
