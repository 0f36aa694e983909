"""Shared pieces of the dashboard tests: a project with two deployments, the real CLI as a subprocess, the
dashboard and a worker as real processes, and the system Chromium (Playwright)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("DEPLOYTOOL_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
TOKEN = "s3cret-token-for-tests-0123456789"

FLOWS = """
import time
from deploytool import flow


@flow(name="greet")
def greet(name: str = "world", count: int = 3, loud: bool = False, delay: float = 0.3):
    for i in range(count):
        print(f"hello {name} #{i}" + ("!" if loud else ""), flush=True)
        time.sleep(delay)
    print("<script>alert(1)</script>", flush=True)
    return count


@flow(name="sleepy")
def sleepy(seconds: int = 600):
    print("going to sleep", flush=True)
    time.sleep(seconds)
"""
DEPLOY_YAML = """
name: uitest
deployments:
  - name: hello
    entrypoint: flows.py:greet
    parameters: {name: "team"}
    work_pool: {name: local}
  - name: nap
    entrypoint: flows.py:sleepy
    work_pool: {name: local}
"""


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def need(ok: bool, why: str) -> None:
    """Skip outside CI, fail in CI, when a service the test needs is missing."""
    if not ok:
        if in_ci():
            pytest.fail(f"{why} (CI=true: a missing service fails the test)")
        pytest.skip(why)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def deploytool(*args: str, check: bool = True) -> Result:
    """Run the real `deploytool` CLI in this process, through its error boundary (in the test's DEPLOYTOOL_HOME)."""
    from deploytool.cli.entry import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    result = Result(code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"deploytool {' '.join(args)} exited {code}:\n{result.stderr}")
    return result


def make_project(root: Path, *, pool: bool = True) -> Path:
    """A project with deployments greet/hello and sleepy/nap on pool `local`, deployed."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "flows.py").write_text(textwrap.dedent(FLOWS))
    (root / "deploy.yaml").write_text(textwrap.dedent(DEPLOY_YAML))
    if pool:
        deploytool("work-pool", "create", "local", "--type", "process")
    deploytool("deploy", "--all", "--file", str(root / "deploy.yaml"))
    return root


class Process:
    """A background process whose output goes to a file; stopped (TERM, then KILL) by `stop`."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()


def wait_for_line(process: Process, pattern: str) -> re.Match[str]:
    """Block until the process prints a line matching `pattern` (or exits: then fail with its output)."""
    found: list[re.Match[str]] = []
    done = threading.Event()

    def watch() -> None:
        import time

        while not done.is_set():
            match = re.search(pattern, process.text())
            if match:
                found.append(match)
                done.set()
                return
            if process.proc.poll() is not None:
                done.set()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    done.wait()
    if not found:
        raise AssertionError(f"the process exited ({process.proc.returncode}) before {pattern!r}:\n{process.text()}")
    return found[0]


@contextmanager
def dashboard(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Process]]:
    """`deploytool ui --port 0 ARGS` running; yields its base URL (from the line it prints) and the process."""
    process = Process([sys.executable, "-m", "deploytool", "ui", "--port", "0", *args], tmp / "ui.log", env=env)
    try:
        match = wait_for_line(process, r"on (http://\S+/) ")
        yield match[1].rstrip("/"), process
    finally:
        process.stop()


@contextmanager
def worker(tmp: Path, pool: str = "local") -> Iterator[Process]:
    """A real worker of `pool` (deploytool worker start)."""
    process = Process(
        [sys.executable, "-m", "deploytool", "worker", "start", "--pool", pool, "--name", "ui-test-worker"],
        tmp / "worker.log",
    )
    try:
        yield process
    finally:
        process.stop()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None


@contextmanager
def browser_page(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A Playwright page in the system Chromium (headless); skips outside CI when it is missing."""
    need(chromium_available(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed (pip install -e '.[dev]')")
        raise
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(120_000)  # a guard against a hang on a loaded machine
            yield page
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact (test-artifacts/ui/NAME.png)."""
    folder = ARTIFACTS / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def cli_json(*args: str) -> Any:
    return json.loads(deploytool(*args, "--output", "json").stdout)["data"]
