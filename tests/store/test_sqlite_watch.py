"""An SQLite waiter blocks on inotify, not on a timer (docs/stores.md, "Notifications").

The 0.1 s poll of `data_version` is turned off (an hour) in these tests: a wait that still ends at once was ended by
inotify or by the `Wake` pipe. Without inotify the waiter polls as before. Waits are asserted on the event, with a
safety net far below the (hour-long) poll and timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.store import Store, Topic, Wake, db, sqlite_watch
from tests.store.notify_helpers import POOL, SAFETY, Waiter, settled, setup_pool

HOUR = 3600.0


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "deploytool.db"


@pytest.fixture
def store(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(db, "CHANGE_POLL_SECONDS", HOUR)
    with Store.open(f"sqlite:///{path}") as opened:
        setup_pool(opened)
        yield opened


def _queue_from_another_process(path: Path) -> None:
    env = {**os.environ, "DEPLOYTOOL_STORE_URL": f"sqlite:///{path}"}
    done = subprocess.run(
        [sys.executable, "-m", "deploytool", "run", f"etl/d-{POOL}"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("wake", [None, Wake()], ids=["no wake", "a Wake"])
def test_a_run_queued_by_another_process_ends_a_wait_with_polling_off(
    store: Store, path: Path, wake: Wake | None
) -> None:
    topics = (Topic.pool(POOL),)
    settled(store, topics)
    waiter = Waiter(store, topics, timeout=HOUR, wake=wake)
    _queue_from_another_process(path)
    assert waiter.returned.wait(SAFETY), "the commit of another process did not end the wait"
    assert waiter.result is True


def test_a_wake_ends_a_wait_with_polling_off(store: Store) -> None:
    topics = (Topic.pool(POOL),)
    settled(store, topics)
    wake = Wake()
    waiter = Waiter(store, topics, timeout=HOUR, wake=wake)
    wake.set()
    assert waiter.returned.wait(SAFETY), "setting the Wake did not end the wait"
    assert waiter.result is False


def test_the_waiter_s_own_commits_are_no_change(store: Store) -> None:
    """Our own connection's commits (a worker's heartbeat) write the WAL too, but they are no change to look at."""
    topics = (Topic.pool(POOL),)
    settled(store, topics)
    store.pools.update(POOL, concurrency_limit=3)
    assert store.wait_for_change(topics, 0.3) is False


def test_without_inotify_a_waiter_polls(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_watch, "open_watch", lambda _path: None)
    with Store.open(f"sqlite:///{path}") as store:
        setup_pool(store)
        topics = (Topic.pool(POOL),)
        settled(store, topics)
        waiter = Waiter(store, topics, timeout=HOUR, wake=Wake())
        _queue_from_another_process(path)
        assert waiter.outcome() is True


def test_a_plain_event_as_wake_still_works(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A threading.Event has no pipe to block on: the waiter checks it every CHANGE_POLL_SECONDS."""
    monkeypatch.setattr(db, "CHANGE_POLL_SECONDS", 0.05)
    topics = (Topic.pool(POOL),)
    settled(store, topics)
    wake = threading.Event()
    waiter = Waiter(store, topics, timeout=HOUR, wake=wake)
    wake.set()
    assert waiter.returned.wait(SAFETY)
    assert waiter.result is False


class TestFileWatch:
    def test_a_write_to_the_database_or_its_wal_counts_and_other_files_do_not(self, tmp_path: Path) -> None:
        database = tmp_path / "deploytool.db"
        database.write_bytes(b"")
        watch = sqlite_watch.open_watch(str(database))
        assert watch is not None
        (tmp_path / "worker.log").write_text("a line\n")
        (tmp_path / "deploytool.db.bak").write_text("copy\n")
        assert watch.wait(0, None) is False
        (tmp_path / "deploytool.db-wal").write_bytes(b"frame")
        assert watch.wait(0, None) is True
        assert watch.wait(0, None) is False  # the events were read
        with database.open("ab") as file:
            file.write(b"page")
        assert watch.wait(0, None) is True
        watch.close()

    def test_a_watch_whose_directory_went_away_is_over(self, tmp_path: Path) -> None:
        directory = tmp_path / "store"
        directory.mkdir()
        watch = sqlite_watch.open_watch(str(directory / "deploytool.db"))
        assert watch is not None
        directory.rmdir()
        assert watch.wait(SAFETY, None) is True  # look once: the waiter polls from now on
        assert watch.alive is False

    def test_a_set_wake_ends_the_wait_and_a_cleared_one_does_not(self, tmp_path: Path) -> None:
        watch = sqlite_watch.open_watch(str(tmp_path / "deploytool.db"))
        assert watch is not None
        wake = Wake()
        ended: list[bool] = []
        waiting = threading.Thread(target=lambda: ended.append(watch.wait(HOUR, wake)), daemon=True)
        waiting.start()
        wake.set()
        waiting.join(SAFETY)
        assert ended == [False]  # ended by the wake, not by a write
        wake.clear()
        assert watch.wait(0, wake) is False
        assert not wake.is_set()
        wake.close()
        watch.close()


def _inotify_descriptors() -> int:
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if _link(fd) == "anon_inode:inotify")


def _link(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # the listing's own descriptor, gone already
        return ""


def test_a_thread_that_waited_gives_its_inotify_instance_back_when_it_ends(store: Store) -> None:
    """An inotify instance is a per-user resource (128 by default): a dashboard or a follower that waits in many
    threads over its life must not keep one per thread that ever waited, nor must a closed store."""
    import gc

    topics = (Topic.pool(POOL),)
    before = _inotify_descriptors()
    for _ in range(3):
        thread = threading.Thread(target=store.wait_for_change, args=(topics, 0))
        thread.start()
        thread.join()
    gc.collect()
    assert _inotify_descriptors() == before
    store.wait_for_change(topics, 0)  # this thread waited, and goes on: its watch stays until the store is closed
    assert _inotify_descriptors() == before + 1
    store.close()
    assert _inotify_descriptors() == before
