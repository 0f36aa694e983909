from __future__ import annotations

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
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory
