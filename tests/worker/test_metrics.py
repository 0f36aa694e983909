"""`deploytool worker start --metrics-port`: a real worker process, scraped while real runs go through it;
/healthz and /readyz; `--log-format json`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploytool.cli.entry import main
from deploytool.models import TERMINAL
from deploytool.settings import Settings
from deploytool.store import Store

FLOWS = """\
from deploytool import flow


@flow
def ok() -> str:
    print("fine")
    return "done"


@flow
def boom() -> None:
    raise ValueError("broken on purpose")
"""


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text `text`."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if match and match[1] == name:
            found = dict(re.findall(r'(\w+)="([^"]*)"', match[2] or ""))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(match[3])
    raise AssertionError(f"no sample {name} {labels} in:\n{text}")


class WorkerProcess:
    def __init__(self, pool: str, *extra: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploytool", "worker", "start", "--pool", pool, "--metrics-port", "0", *extra],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self.url = ""
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # the worker says where it serves, before it claims anything
            self.lines.append(line)
            found = re.search(r"metrics on (http://[\d.]+:\d+)/metrics", line)
            if found:
                self.url = found[1]
                break
        assert self.url, "".join(self.lines)

    def stop(self) -> list[str]:
        self.proc.send_signal(signal.SIGTERM)
        _, rest = self.proc.communicate(timeout=120)
        return self.lines + rest.splitlines(keepends=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flows.py").write_text(FLOWS)
    (tmp_path / "deploy.yaml").write_text(
        textwrap.dedent(
            """\
            deployments:
              - name: good
                entrypoint: flows.py:ok
                work_pool: {name: metered}
              - name: bad
                entrypoint: flows.py:boom
                work_pool: {name: metered}
            """
        )
    )
    assert main(["work-pool", "create", "metered", "--type", "process"]) == 0
    assert main(["deploy", "--all", "--file", str(tmp_path / "deploy.yaml")]) == 0
    return tmp_path


@pytest.fixture
def worker(project: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess("metered", "--log-format", "json")
    yield process
    if process.proc.poll() is None:
        process.stop()


def wait_until_finished(count: int) -> None:
    deadline = time.monotonic() + 300  # a guard against a hang, not a speed target
    with Store.open(Settings.from_env().db_path) as store:
        while time.monotonic() < deadline:
            runs = store.runs.list(limit=100)
            if len([r for r in runs if r.state in TERMINAL]) >= count:
                return
            time.sleep(0.1)
    raise AssertionError("the runs did not finish")


def test_metrics_count_runs_as_they_go_through(worker: WorkerProcess) -> None:
    status, body = get(f"{worker.url}/metrics")
    assert status == 200
    assert sample(body, "deploytool_worker_runs_in_flight", pool="metered") == 0
    assert sample(body, "deploytool_worker_info", pool="metered") == 1
    assert get(f"{worker.url}/healthz")[0] == 200
    assert get(f"{worker.url}/readyz") == (200, "ready\n")

    for deployment in ("ok/good", "ok/good", "boom/bad"):
        assert main(["run", deployment]) == 0
    wait_until_finished(3)
    status, body = get(f"{worker.url}/metrics")
    assert status == 200
    assert sample(body, "deploytool_worker_runs_claimed_total", pool="metered", deployment="ok/good") == 2
    assert sample(body, "deploytool_worker_runs_claimed_total", pool="metered", deployment="boom/bad") == 1
    completed = {"pool": "metered", "deployment": "ok/good", "state": "completed"}
    failed = {"pool": "metered", "deployment": "boom/bad", "state": "failed"}
    assert sample(body, "deploytool_worker_runs_finished_total", **completed) == 2
    assert sample(body, "deploytool_worker_runs_finished_total", **failed) == 1
    assert sample(body, "deploytool_worker_run_duration_seconds_count", **completed) == 2
    assert sample(body, "deploytool_worker_run_duration_seconds_sum", **failed) > 0
    assert sample(body, "deploytool_worker_claim_latency_seconds_count", pool="metered") == 3
    assert sample(body, "deploytool_worker_infrastructure_errors_total", pool="metered") == 0
    assert sample(body, "deploytool_worker_runs_in_flight", pool="metered") == 0
    assert 0 <= sample(body, "deploytool_worker_last_heartbeat_age_seconds", pool="metered") < 15
    assert get(f"{worker.url}/nothing")[0] == 404

    log = worker.stop()
    entries = [json.loads(line) for line in log if line.strip()]  # every line of the worker's log is JSON
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any("stopped: 3 run(s) launched, 3 finished" in e["message"] for e in entries)
    assert all(e["time"][-6] in "+-" for e in entries)  # ISO 8601 with offset


def test_readyz_says_when_the_docker_daemon_does_not_answer(isolated_home: Path) -> None:
    assert main(["work-pool", "create", "boxes", "--type", "docker"]) == 0
    worker = WorkerProcess("boxes", env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    try:
        status, body = get(f"{worker.url}/readyz")
        assert status == 503 and body.startswith("infrastructure: the Docker daemon did not answer")
        assert get(f"{worker.url}/healthz")[0] == 200  # alive all the same: it goes on beating
    finally:
        worker.stop()


def test_a_port_in_use_is_a_clear_error(project: Path, worker: WorkerProcess) -> None:
    port = worker.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "deploytool", "worker", "start", "--pool", "metered", "--metrics-port", port],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert f"Error: --metrics-port {port}: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
