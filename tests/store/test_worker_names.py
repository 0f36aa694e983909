"""Two workers with one `--name` in one pool are refused across hosts too (issue 13, item 2), on each backend: a
worker process runs on this host; a worker of the same name "on another host" (its host name differs, so its
pid cannot be checked) is refused while the first one's heartbeat is fresh, and accepted once it has stopped.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import pytest

from deploytool.errors import DeploytoolError
from deploytool.store import Store
from tests.store.backends import StoreFactory
from tests.worker.helpers import wait_for, worker
from tests.worker_support import start_worker


def test_the_same_name_on_another_host_is_refused_while_the_first_worker_beats(
    shared: Store, store_factory: StoreFactory, tmp_path: Path
) -> None:
    env = {"DEPLOYTOOL_STORE_URL": store_factory.url, "DEPLOYTOOL_HOME": str(tmp_path / "home-a")}
    first = start_worker("twin", "--heartbeat-seconds", "1", env=env, log=tmp_path / "first.log")
    try:
        wait_for(lambda: [w.name for w in shared.workers.list("p")] == ["twin"])
        with store_factory.open() as elsewhere:
            second = worker(elsewhere, name="twin", host="another-host")
            with pytest.raises(DeploytoolError, match="a worker named 'twin' is already serving pool 'p'") as err:
                second.register()
            assert f"pid {first.pid} on " in str(err.value)
            assert [w.host for w in shared.workers.list("p")] != ["another-host"]  # the first one's record stays
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 0
    with store_factory.open() as elsewhere:  # the first one stopped (and deregistered): the name is free
        second = worker(elsewhere, name="twin", host="another-host")
        second.register()
        assert [(w.name, w.host) for w in elsewhere.workers.list("p")] == [("twin", "another-host")]
        second.close()


@pytest.mark.parametrize(("lease", "refused"), [(90.0, True), (None, False)])
def test_a_worker_on_another_host_counts_as_alive_for_the_lease_it_beat_with(
    shared: Store, lease: float | None, refused: bool
) -> None:
    # beats every 30 s (a lease of 90 s), last 40 s ago: alive, though older than this worker's lease (15 s); a
    # record without a lease (written before schema version 8) is judged by this worker's
    now = shared.now()
    shared.workers.heartbeat("twin", "p", "another-host", 7, now - timedelta(seconds=40), lease_seconds=lease)
    second = worker(shared, name="twin", host="this-host")
    if refused:
        with pytest.raises(DeploytoolError, match="a worker named 'twin' is already serving pool 'p'"):
            second.register(now)
    else:
        second.register(now)
        assert [w.host for w in shared.workers.list("p")] == ["this-host"]
    second.close()
