"""Waiting for changes on PostgreSQL: one dedicated connection that LISTENs, in a daemon thread (docs/stores.md,
"Notifications").

The store's triggers (migrations/postgresql/0005_notify.sql) send `NOTIFY` at commit, in the transaction that made
the change: `deploytool_pool` with a pool's name when one of its runs may have become claimable, `deploytool_run`
with a run's id when its state changed or it got log lines. `Listener.wait` (behind `Store.wait_for_change`)
returns as soon as a notification for one of its topics arrives, or one has arrived since the previous wait for
the same topics returned, so nothing committed between a caller's look at the store and its next wait is missed.

The listening connection is opened by the first wait (a command that never waits opens none), is never inside a
transaction, and is reopened with backoff when it drops (a server restart, a cut network noticed by the TCP
keepalives). Notifications sent while it was away are lost, so after every (re)connect each waiter is told "look
now" once: the caller polls the store, then waits again. A pooler in transaction mode (PgBouncer) accepts LISTEN
but never delivers: waiters then fall back to their timeout, i.e. to polling.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import make_conninfo

from deploytool.store.changes import Topic
from deploytool.store.pg_connect import missing_defaults, reason

log = logging.getLogger("deploytool.store")

# channel -> the topic its payload names (the triggers of migrations/postgresql/0005_notify.sql send on them)
CHANNELS: dict[str, Callable[[str], Topic]] = {"deploytool_pool": Topic.pool, "deploytool_run": Topic.run}
CLOSE_WAIT_SECONDS = 1.0  # how long `close` waits for the listening thread to end
RETRY_MAX_SECONDS = 5.0  # backoff cap while the server cannot be reached
_KEYS_KEPT = 1000  # topic sets remembered (one per waiter: a worker's pool, a watched run)


class Listener:
    """LISTEN on deploytool's channels for one store; any number of threads may `wait`."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._cond = threading.Condition()
        self._connects = 0  # how many times the connection was (re)established
        self._seen: OrderedDict[frozenset[Topic], int] = OrderedDict()  # topic set -> `_connects` it has seen
        self._pending: set[Topic] = set()  # notified, not yet returned to a waiter of that topic
        self._interest: dict[Topic, int] = {}  # topics some waiter asked for (how many topic sets hold each)
        self._waking: list[tuple[frozenset[Topic], threading.Event]] = []  # events of waiters waiting right now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wakeup: tuple[int, int] | None = None  # a pipe: `close` writes to it to end the thread's wait

    def wait(self, topics: Collection[Topic], timeout: float, wake: threading.Event | None = None) -> bool:
        """See Store.wait_for_change."""
        key = frozenset(topics)
        event = wake if wake is not None else threading.Event()
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            self._start()
            self._remember(key)
            self._waking.append((key, event))
        try:
            while True:
                with self._cond:
                    if self._take(key):
                        return True
                    if wake is None:
                        event.clear()
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (wake is not None and wake.is_set()):
                    return False
                event.wait(remaining)
                if wake is not None and wake.is_set():
                    with self._cond:  # set by a notification (True) or by the caller's own reason (False)
                        return self._take(key)
        finally:
            with self._cond:
                self._waking.remove((key, event))

    def close(self) -> None:
        """Stop listening: the thread leaves its wait at once (a byte on its wake-up pipe) and closes its
        connection. Not waited for longer than CLOSE_WAIT_SECONDS (a connection attempt may hang up to its
        timeout): the thread is a daemon and ends by itself."""
        with self._cond:
            self._stop.set()
            thread = self._thread
            if self._wakeup is not None:
                with contextlib.suppress(OSError):
                    os.write(self._wakeup[1], b"x")
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_WAIT_SECONDS)

    # --- waiters' bookkeeping (under self._cond) --------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._wakeup = os.pipe()
            self._thread = threading.Thread(target=self._listen, name="deploytool-listen", daemon=True)
            self._thread.start()

    def _remember(self, key: frozenset[Topic]) -> None:
        if key in self._seen:
            self._seen.move_to_end(key)
            return
        self._seen[key] = -1  # a new waiter looks once first: it may have missed what came before it
        for topic in key:
            self._interest[topic] = self._interest.get(topic, 0) + 1
        if len(self._seen) > _KEYS_KEPT:
            old, _ = self._seen.popitem(last=False)
            for topic in old:
                self._interest[topic] -= 1
                if not self._interest[topic]:
                    del self._interest[topic]
                    self._pending.discard(topic)

    def _take(self, key: frozenset[Topic]) -> bool:
        """Whether the waiter of `key` should look now (consuming what told it so)."""
        if self._connects and self._seen.get(key, -1) != self._connects:
            self._seen[key] = self._connects  # (re)connected since its last look: it may have missed something
            self._pending.difference_update(key)
            return True
        if self._pending & key:
            self._pending.difference_update(key)
            return True
        return False

    def _tell(self, topics: Collection[Topic]) -> None:
        for key, event in self._waking:
            if not topics or not key.isdisjoint(topics):
                event.set()

    # --- the listening thread ---------------------------------------------------------------------------------

    def _listen(self) -> None:
        try:
            self._listen_until_closed()
        finally:
            with self._cond:
                assert self._wakeup is not None
                for fd in self._wakeup:
                    os.close(fd)
                self._wakeup = None

    def _listen_until_closed(self) -> None:
        delay = 0.1
        failures = 0
        while not self._closing():
            try:
                conn = self._connect()
            except psycopg.Error as exc:
                failures += 1
                if failures == 1:
                    text = reason(exc, self._url)
                    log.warning("cannot listen for store notifications: %s; polling until it can", text)
                self._stop.wait(delay * (0.5 + random.random()))
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            if failures:
                log.info("listening for store notifications again")
            delay, failures = 0.1, 0
            try:
                self._serve(conn)
            except psycopg.Error as exc:
                failures = 1
                log.warning("the store's notification connection dropped: %s; reconnecting", reason(exc, self._url))
            finally:
                conn.close()

    def _connect(self) -> psycopg.Connection[Any]:
        defaults = missing_defaults(self._url)
        if "application_name" in defaults:
            defaults["application_name"] = "deploytool-listen"
        conn = psycopg.connect(make_conninfo(self._url, **defaults), autocommit=True)
        try:
            for channel in CHANNELS:
                conn.execute(f"LISTEN {channel}")
        except BaseException:
            conn.close()
            raise
        with self._cond:
            self._connects += 1
            self._tell(())  # everyone looks once: notifications sent while nobody listened are lost
        return conn

    def _serve(self, conn: psycopg.Connection[Any]) -> None:
        """Deliver notifications until `close` (the wake-up pipe) or until the connection fails (raises).

        Waits on the socket and the pipe together (no periodic wake-up while idle), then reads what arrived
        with libpq's own calls (consume input, then each notification), as psycopg's `notifies()` does.
        """
        assert self._wakeup is not None
        wakeup = self._wakeup[0]
        pgconn = conn.pgconn
        encoding = conn.info.encoding
        while not self._closing():
            ready, _, _ = select.select([conn.fileno(), wakeup], [], [])
            if wakeup in ready:
                return
            pgconn.consume_input()  # OperationalError when the server has gone
            if pgconn.status != pq.ConnStatus.OK:
                raise psycopg.OperationalError("the connection was closed")
            while (note := pgconn.notifies()) is not None:
                make = CHANNELS.get(note.relname.decode(encoding))
                if make is not None:
                    self._deliver(make(note.extra.decode(encoding)))

    def _deliver(self, topic: Topic) -> None:
        with self._cond:
            if topic in self._interest:
                self._pending.add(topic)
                self._tell((topic,))

    def _closing(self) -> bool:
        return self._stop.is_set()
