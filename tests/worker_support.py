"""Shared by the tests that run the real worker (tests/worker, tests/reliability, tests/scheduling, tests/infra,
tests/store): the fixtures of a store file with the process pool of tests/worker/helpers.py and of a project
directory, and `deploytool worker start` processes.

The conftests of those folders import the fixtures (`from tests.worker_support import store, ...`); a test module
that defines a fixture of the same name uses its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from deploytool.store import Store
from tests.worker.helpers import POOL, make_pool

# The real CLI with the worker group registered (see its docstring).
WORKER_MAIN = Path(__file__).resolve().parent / "worker" / "worker_main.py"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "deploytool.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A store file with the process pool `p` (tests.worker.helpers.make_pool)."""
    with Store.open(db_path) as opened:
        make_pool(opened)
        yield opened


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


def start_worker(
    name: str, *args: str, env: Mapping[str, str], log: Path | None = None, pool: str = POOL
) -> subprocess.Popen[bytes]:
    """`deploytool worker start --pool POOL --name NAME ARGS...` in a child process, with `env` over this
    process's environment; its output appended to `log`, or left to the test's (captured by pytest)."""
    command = [sys.executable, str(WORKER_MAIN), "worker", "start", "--pool", pool, "--name", name, *args]
    full_env = {**os.environ, **env}
    if log is None:
        return subprocess.Popen(command, env=full_env)
    with open(log, "ab") as out:
        return subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)


class WorkerProcesses:
    """Worker processes started by a test, each with `env` and the options `defaults` before its own, its output
    in `folder/NAME.log`; `kill_all` (at the end of the fixture that made it) kills whatever is left."""

    def __init__(self, folder: Path, env: Mapping[str, str], defaults: Sequence[str] = ()) -> None:
        self.folder, self.env, self.defaults = folder, dict(env), tuple(defaults)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.procs[name] = start_worker(name, *self.defaults, *args, env=self.env, log=self.folder / f"{name}.log")
        return self.procs[name]

    def output(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop_all(self, timeout: float) -> None:
        """SIGTERM each worker, then wait for each to exit 0 (an AssertionError with its output if not)."""
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            assert proc.wait(timeout) == 0, self.output(name)

    def kill_all(self) -> None:
        for proc in self.procs.values():
            kill(proc)


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process unless it has ended, and reap it."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
