from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.worker_support import db_path, store

__all__ = ["db_path", "other_local_zone", "store"]  # db_path and store: tests/worker_support.py


@pytest.fixture
def other_local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time zone is New York's (not UTC, as on the machines the suite usually runs on)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
