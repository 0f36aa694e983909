"""The store backends the contract suite runs against: each gives a fresh, empty store per test.

`StoreFactory.open()` opens another connection to the same store (as another process or host would have).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deploytool.store import Store

BACKENDS = ["sqlite", "postgresql"]


@dataclass(frozen=True)
class StoreFactory:
    backend: str
    url: str

    def open(self) -> Store:
        return Store.open(self.url)


def sqlite_factory(tmp_path: Path) -> StoreFactory:
    return StoreFactory("sqlite", f"sqlite:///{tmp_path / 'contract' / 'deploytool.db'}")
