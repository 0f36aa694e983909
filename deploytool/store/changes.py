"""What `Store.wait_for_change` waits for, and what it promises (docs/stores.md, "Notifications").

`wait_for_change(topics, timeout, wake=None)` blocks until a change to one of `topics` may have been committed by
anyone (True: look at the store now) or `timeout` seconds pass (False), whichever is first; a `wake` event set
meanwhile (by the caller's own threads) ends the wait too (False, unless a change came with it).

- A change committed since the previous call for the same topics returned counts, so a caller that looks, then
  waits, misses nothing.
- The first call for a set of topics returns True as soon as the store can tell (the caller should look once),
  and so does every call after the store lost and re-established its means of telling (notifications sent
  meanwhile are lost).
- True can be spurious: a caller re-reads what it cares about.

PostgreSQL: LISTEN/NOTIFY on a dedicated connection (`store/pg_listen.py`); SQLite: its `data_version`, read when
inotify reports a write to the database or its WAL (`store/sqlite_watch.py`), else every 0.1 s (any commit by
another connection counts). A `wake` that is a `Wake` lets an SQLite waiter block without polling; a plain
threading.Event works too, checked every 0.1 s.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref

from deploytool.records import record

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Literal


@record
class Topic:
    """What `Store.wait_for_change` waits for (docs/stores.md, "Notifications").

    `Topic.pool(name)`: a run of the pool may have become claimable (a SCHEDULED run created, rescheduled,
    released or re-queued; an active run ended, freeing a concurrency slot; the pool, a queue or a deployment
    limit changed). `Topic.run(id)`: the run's state changed or it got log lines.
    """

    kind: Literal["pool", "run"]
    key: str

    @staticmethod
    def pool(name: str) -> Topic:
        return Topic("pool", name)

    @staticmethod
    def run(run_id: str) -> Topic:
        return Topic("run", run_id)


class Wake(threading.Event):
    """A threading.Event that a waiter can also block on with `poll()`: `set()` writes a byte to a pipe (a
    self-pipe), so a waiter blocked on files and this pipe at once needs no timer to see it."""

    def __init__(self) -> None:
        super().__init__()
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._closer = weakref.finalize(self, _close, self._read, self._write)

    def fileno(self) -> int:
        """The pipe's read end: readable once `set()` was called."""
        return self._read

    def set(self) -> None:
        super().set()  # before the byte: a waiter woken by the byte finds the event set
        with contextlib.suppress(BlockingIOError):  # the pipe is full: a byte is already waiting
            os.write(self._write, b"w")

    def clear(self) -> None:
        super().clear()
        self.drain()

    def drain(self) -> None:
        """Empty the pipe (the event's flag is left as it is)."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 512):
                pass

    def close(self) -> None:
        self._closer()


def _close(*fds: int) -> None:
    for fd in fds:
        os.close(fd)
