"""Fixtures of the CLI tests (a module whose commands need more in the store defines its own `cli`)."""

from __future__ import annotations

import pytest

from tests.cli.cli_helpers import CLI


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CLI:
    """The real CLI in this process, on the test's store (tests/cli/cli_helpers.py)."""
    return CLI(capsys, monkeypatch)
