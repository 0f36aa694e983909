from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.store import Store
from tests.worker.helpers import make_pool


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "deploytool.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as opened:
        make_pool(opened)
        yield opened


@pytest.fixture
def other_local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time zone is New York's (not UTC, as on the machines the suite usually runs on)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
