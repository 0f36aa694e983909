"""Shared fixtures. Every test gets its own DEPLOYTOOL_HOME and HOME, so none can touch the user's real ones.

Helpers that several test modules use live in helper modules (tests/services.py, tests/docker_support.py,
tests/<area>/helpers.py, ...), never in a test module that others import (tests/test_suite_rules.py checks it).
Fixtures that the conftests of several folders share live in a support module they import them from
(tests/worker_support.py: a store with a process pool, a project directory, worker processes).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import in_ci

pytest_plugins = ["tests.docker_support", "tests.templating_support"]

_REAL_HOME = Path(os.path.expanduser("~"))
_REAL_STORE = _REAL_HOME / ".deploytool"


def _snapshot(path: Path) -> tuple[bool, float | None]:
    try:
        return True, path.stat().st_mtime
    except FileNotFoundError:
        return False, None


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point DEPLOYTOOL_HOME and HOME at fresh directories; fail the test if the real store was touched."""
    before = _snapshot(_REAL_STORE)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DEPLOYTOOL_HOME", str(home / ".deploytool"))
    monkeypatch.delenv("DEPLOYTOOL_DEBUG", raising=False)
    # Nor a secret key of the developer's: each test's store gets the key file of its own DEPLOYTOOL_HOME.
    monkeypatch.delenv("DEPLOYTOOL_SECRET_KEY", raising=False)
    monkeypatch.delenv("DEPLOYTOOL_SECRET_KEY_FILE", raising=False)
    # Nor a store URL from the developer's shell (a real PostgreSQL store); set, so that a `--store` run in-process
    # (which sets it for the process) is undone after the test. Empty means unset (deploytool.settings).
    monkeypatch.setenv("DEPLOYTOOL_STORE_URL", "")
    yield home / ".deploytool"
    if _snapshot(_REAL_STORE) != before:
        message = f"the test touched the user's real store at {_REAL_STORE}"
        if in_ci():
            pytest.fail(message)
        # Outside CI the machine is shared: the user's own deploytool (or another checkout's) may write its
        # store while the suite runs, so a change cannot be blamed on this test. Say it, do not fail.
        warnings.warn(f"{message} (or something else on this machine did)", pytest.PytestWarning, stacklevel=1)
