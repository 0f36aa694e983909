"""How long a worker sleeps between passes, and what ends a pause early (docs/worker.md, "Idle").

While it has runs: `poll_seconds`. Idle: the pause doubles with each pass that found nothing, from `poll_seconds`
up to `idle_poll_seconds`; a claimed run resets it. Every pause is a `Store.wait_for_change` for the worker's
pool: a run of the pool that may have become claimable (queued, rescheduled, released, re-queued after a crash,
a concurrency slot freed, the pool or a queue resumed) ends it at once. On PostgreSQL that is a LISTEN/NOTIFY
wake-up, whichever host made the change; on SQLite an inotify wake-up when the store's files are written (any
commit of another process ends the pause; `data_version` read every 0.1 s where inotify is missing). A job that
ends or a stop signal (the `wake` event) ends any pause too; `wake` is a `Wake`, so the SQLite waiter blocks on
its pipe as well instead of checking it on a timer. Polling stays the fallback: a pause that nothing ends is a
pass like any other.
"""

from __future__ import annotations

import logging

from deploytool.store import Store, Topic, Wake

log = logging.getLogger("deploytool.worker")


class Pacer:
    """The pause between a worker's passes."""

    def __init__(self, store: Store, poll_seconds: float, idle_poll_seconds: float, pool_name: str) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.idle_limit = max(idle_poll_seconds, poll_seconds)
        self.wake = Wake()
        self.topics = (Topic.pool(pool_name),)
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

    def sleep(self, idle: bool, most: float | None = None) -> None:
        """Sleep the next pause (at most `most` s when that is positive: a deadline), ended early by `wake` (a job
        that ended, a stop signal) or by a change in the store that concerns the pool."""
        pause = self.pause(idle)
        if most is not None and most > 0:
            pause = min(pause, most)
        try:
            changed = self.store.wait_for_change(self.topics, pause, wake=self.wake)
        except Exception as exc:  # the next pass meets (and reports) whatever is wrong with the store
            log.debug("waiting for store changes failed (%s): sleeping instead", exc)
            changed = False
            self.wake.wait(pause)
        if changed:
            self.busy()
        self.wake.clear()
