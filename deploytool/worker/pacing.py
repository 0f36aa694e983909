"""How long a worker sleeps between passes (docs/worker.md, "Idle").

While it has runs: `poll_seconds`. Idle: the pause doubles with each pass that found nothing, from `poll_seconds`
up to `idle_poll_seconds`; a claimed run resets it. During a long pause the store's change counter (SQLite's
`data_version`) is read every `poll_seconds`, and a change committed by another process (a run queued, a
cancel) ends the pause, so an idle worker still notices a new run at once. A job that ends (the `wake` event)
ends any pause.
"""

from __future__ import annotations

import threading
import time

from deploytool.store import Store


class Pacer:
    """The pause between a worker's passes."""

    def __init__(self, store: Store, poll_seconds: float, idle_poll_seconds: float) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.idle_limit = max(idle_poll_seconds, poll_seconds)
        self.wake = threading.Event()
        self._idle_pause = 0.0

    def busy(self) -> None:
        """A run was claimed or is active: poll at the full rate again."""
        self._idle_pause = 0.0

    def pause(self, idle: bool) -> float:
        """The next pause: `poll_seconds` when not idle; else the idle pause, doubled since the last one."""
        if not idle:
            self._idle_pause = 0.0
            return self.poll_seconds
        self._idle_pause = min(self._idle_pause * 2, self.idle_limit) if self._idle_pause > 0 else self.poll_seconds
        return self._idle_pause

    def sleep(self, idle: bool) -> None:
        """Sleep the next pause, ended early by `wake` or (during a long idle pause) by a change in the store."""
        pause = self.pause(idle)
        step = self.poll_seconds
        counter = self._change_counter() if pause > step else None
        deadline = time.monotonic() + pause
        while (remaining := deadline - time.monotonic()) > 0:
            if self.wake.wait(min(step, remaining) if counter is not None else remaining):
                self.wake.clear()
                return
            if counter is not None and self._change_counter() != counter:
                self.busy()
                return

    def _change_counter(self) -> int | None:
        try:
            return self.store.change_counter()
        except Exception:  # the next pass meets (and reports) whatever is wrong with the store
            return None
