"""The suite holds outside this repository's CI: what is missing skips (saying why), helpers live in helpers.

- The prefect.yaml corpus beside the repository: its tests skip without it, and fail in CI (tests/config/corpus.py).
- A dead Docker daemon: every Docker test skips (tests/docker_support.py), none fails.
- Helpers that several test modules share live in helper modules: no test module imports another.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _pytest(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rsfE", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DEPLOYTOOL_")) and k != "CI"}
    env["PYTHONPATH"] = str(REPO)
    env["DEPLOYTOOL_CORPUS"] = str(tmp_path / "no-corpus-here")
    return env


CORPUS_TESTS = "tests/config/test_corpus.py::test_every_corpus_file_has_an_expectation"


def test_without_the_corpus_its_tests_skip_saying_where_they_looked(tmp_path: Path) -> None:
    done = _pytest([CORPUS_TESTS], _clean_env(tmp_path), REPO)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "1 skipped" in out, out
    assert f"the prefect.yaml corpus is not here (looked in {tmp_path / 'no-corpus-here'}" in out
    assert "set DEPLOYTOOL_REQUIRE_CORPUS=1 to make this a failure" in out


@pytest.mark.parametrize("switch", [("CI", "true"), ("DEPLOYTOOL_REQUIRE_CORPUS", "1")])
def test_without_the_corpus_its_tests_fail_in_ci(tmp_path: Path, switch: tuple[str, str]) -> None:
    env = {**_clean_env(tmp_path), switch[0]: switch[1]}
    done = _pytest([CORPUS_TESTS], env, REPO)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 failed" in out, out
    assert f"{switch[0]}={switch[1]} but the prefect.yaml corpus is not here" in out


# The test modules that talk to a Docker daemon (directly, or through a step or an infrastructure).
DOCKER_MODULES = [
    "tests/steps/test_docker_build.py",
    "tests/steps/test_docker_push.py",
    "tests/infra/test_docker.py",
    "tests/worker/test_docker_worker.py",
    "tests/test_docker_support.py",
    "tests/test_tutorial.py",
]


def test_with_a_dead_docker_daemon_every_docker_test_skips_and_the_others_pass(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    env["DOCKER_HOST"] = f"unix://{tmp_path / 'dead.sock'}"  # nobody listens there
    done = _pytest(DOCKER_MODULES, env, REPO)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-5000:]
    assert " skipped" in out and " failed" not in out and " error" not in out, out[-5000:]
    assert "no Docker daemon answered (unix://" in out


def _imported_test_modules(path: Path) -> list[str]:
    own = ".".join(path.relative_to(REPO).with_suffix("").parts)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [
        name
        for name in names
        if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_") and name != own
    ]


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(REPO)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := _imported_test_modules(path))
    }
    assert offenders == {}, f"move what these import into a helpers module: {offenders}"
