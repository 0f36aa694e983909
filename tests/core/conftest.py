"""Fixtures of the core tests (a module that needs another store defines its own `store`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.store import Store
from tests.core.helpers import add_deployment, add_local_pool


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store file with the process pool `local` and the deployment `etl/daily` (tests.core.helpers)."""
    with Store.open(tmp_path / "deploytool.db") as s:
        add_local_pool(s)
        add_deployment(s)
        yield s
