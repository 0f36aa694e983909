"""Running the real CLI (through its error boundary, deploytool.cli.entry.main) and reading the real store."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from deploytool.cli.entry import main
from deploytool.settings import Settings
from deploytool.store import Store
from tests.core.helpers import add_deployment, add_local_pool


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class CLI:
    """`cli("work-pool", "ls")` runs `deploytool work-pool ls` and returns its exit code, stdout and stderr."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self._capsys = capsys
        self._monkeypatch = monkeypatch
        monkeypatch.setenv("COLUMNS", "200")  # rich tables: no folding

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        self._capsys.readouterr()
        if stdin is not None:
            self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)


def open_store() -> Store:
    """The store the CLI uses (DEPLOYTOOL_HOME is isolated per test by tests/conftest.py)."""
    return Store.open(Settings.from_env().db_path)


def add_etl_daily() -> None:
    """In the test's store: the process pool `local` and the deployment `etl/daily` (tests/core/helpers.py)."""
    with open_store() as store:
        add_local_pool(store)
        add_deployment(store)
