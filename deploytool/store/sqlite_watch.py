"""Waiting for a commit to an SQLite store without waking for nothing (docs/stores.md, "Notifications").

SQLite cannot notify. Its `data_version` tells a connection that another one committed, but only when read, so a
waiter that only polls it wakes many times a second while nothing happens (an idle worker spent 0.3 % of a core
that way). Every commit writes the store's WAL file, though, and on Linux inotify reports that write: a waiter
blocks in `poll()` on an inotify descriptor that watches the store's directory, and on the `Wake` event's pipe,
and reads `data_version` only when the database or its WAL was written, or when its time is up.

A write comes a moment before the commit it belongs to can be seen: SQLite publishes a commit in its
shared-memory index right after writing the WAL, and memory writes make no inotify event. So a write that did not
move `data_version` is looked at again `RECHECK` seconds later, then later again; our own connection's commits
(the worker's heartbeat) cost those few reads too, and nothing more.

Where inotify is missing (not Linux, or no inotify instance left for the user: `fs.inotify.max_user_instances`),
`open_watch` gives None and the waiter polls `data_version` every `CHANGE_POLL_SECONDS` as before.
"""

from __future__ import annotations

import logging
import math
import os
import select
import struct
import time
import weakref
from pathlib import Path

from deploytool.store.changes import Wake

log = logging.getLogger("deploytool.store")

# After a write that did not (yet) move data_version: look again after these pauses, then wait for the next write.
RECHECK = (0.001, 0.01, 0.1, 1.0)

_IN_MODIFY = 0x2
_IN_MOVED_TO = 0x80
_IN_CREATE = 0x100
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_Q_OVERFLOW = 0x4000
_IN_IGNORED = 0x8000
_IN_ONLYDIR = 0x1000000
_MASK = _IN_MODIFY | _IN_CREATE | _IN_MOVED_TO | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR
_GONE = _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_IGNORED  # the directory itself went away: the watch is over
_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then len bytes of name


class FileWatch:
    """An inotify descriptor watching the directory of one SQLite file for writes to the file and its WAL.

    One per waiting thread (a descriptor's events are read once: two threads sharing one would steal each
    other's). Events that come between two waits stay queued, so a write between a look and the next wait is
    not missed. `alive` turns False when the directory goes away or the descriptor fails: wait by polling then.
    """

    def __init__(self, fd: int, names: frozenset[bytes]) -> None:
        self.fd = fd
        self.names = names
        self.alive = True
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)
        self._wake_fd: int | None = None
        self._recheck = len(RECHECK)  # the next step of RECHECK since the last write (all taken: none pending)
        self._closer = weakref.finalize(self, os.close, fd)

    def wait(self, timeout: float, wake: Wake | None) -> bool:
        """Block until the store's files are written (True), or `wake` is set or `timeout` seconds pass (False);
        after a write, the next waits are cut to the steps of RECHECK, so that its commit is looked for again."""
        if self._recheck < len(RECHECK):
            timeout = min(timeout, RECHECK[self._recheck])
            self._recheck += 1
        wake_fd = wake.fileno() if wake is not None else None
        if wake_fd != self._wake_fd:
            if self._wake_fd is not None:
                self._poller.unregister(self._wake_fd)
            if wake_fd is not None:
                self._poller.register(wake_fd, select.POLLIN)
            self._wake_fd = wake_fd
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:  # writes to other files of the directory (a log, a crash file) are no reason to return
            ready = self._poller.poll(max(0, math.ceil((deadline - time.monotonic()) * 1000)))  # never early
            if not ready:
                return False
            for fd, what in ready:
                if fd == self.fd:
                    if what & (select.POLLERR | select.POLLNVAL):
                        self.alive = False
                        return True  # look once, then poll
                    if self._drain():
                        self._recheck = 0
                        return True
                elif wake is not None and wake.is_set():
                    return False
                elif wake is not None:
                    wake.drain()  # a byte left by a set() that a clear() raced with: not a wake-up

    def _drain(self) -> bool:
        """Read every queued event; True if one concerns the store's files (or events were lost)."""
        written = False
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return written
            except OSError as exc:
                log.debug("inotify read failed (%s): waiting by polling", exc)
                self.alive = False
                return True
            offset = 0
            while offset + _HEADER.size <= len(data):
                _wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                name = data[offset + _HEADER.size : offset + _HEADER.size + length].rstrip(b"\0")
                offset += _HEADER.size + length
                if mask & _GONE:
                    self.alive = False
                    written = True
                elif mask & _IN_Q_OVERFLOW or name in self.names:
                    written = True

    def close(self) -> None:
        self.alive = False
        self._closer()


def open_watch(path: str) -> FileWatch | None:
    """A FileWatch on the SQLite file at `path` (and its -wal and -journal), or None where inotify is missing."""
    try:
        import ctypes  # only a waiting process pays for it (a worker, a follower), never a command's start

        libc = ctypes.CDLL(None, use_errno=True)
        init, add = libc.inotify_init1, libc.inotify_add_watch
    except (OSError, AttributeError) as exc:
        log.debug("no inotify here (%s): waiting for store changes by polling", exc)
        return None
    file = Path(path).resolve()
    fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        log.debug("inotify_init1 failed (%s): waiting for store changes by polling", os.strerror(ctypes.get_errno()))
        return None
    if add(fd, bytes(file.parent), _MASK) < 0:
        log.debug("cannot watch %s (%s): waiting by polling", file.parent, os.strerror(ctypes.get_errno()))
        os.close(fd)
        return None
    base = file.name.encode()
    return FileWatch(fd, frozenset({base, base + b"-wal", base + b"-journal"}))
