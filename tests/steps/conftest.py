"""Fixtures for the step tests: a git identity, upstream repositories, an HTTP git server, a StepContext."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.steps.base import StepContext
from tests.steps.gitserver import GIT_IDENTITY, GitHTTPServer, Upstream, make_upstream


class Lines:
    """An output sink that keeps every (stream, line) it is given."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, stream: str, line: str) -> None:
        self.lines.append((stream, line))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def lines() -> Lines:
    return Lines()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def ctx(workdir: Path, lines: Lines) -> StepContext:
    return StepContext(cwd=workdir, on_output=lines)


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    root = tmp_path / "remote"
    root.mkdir()
    return make_upstream(root)


@pytest.fixture
def http_server(upstream: Upstream) -> Iterator[GitHTTPServer]:
    server = GitHTTPServer(upstream.bare.parent)
    yield server
    server.close()
