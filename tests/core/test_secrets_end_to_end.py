"""Secrets never in clear, end to end: a real worker process runs flows that leak their secrets in every way a
flow commonly does (an exception about it, a result holding it, a PEM key printed), and nothing deploytool
stores or prints shows them (issue #10 item 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from deploytool.models import Block, RunState
from deploytool.redaction import MASK
from deploytool.store import Store
from tests.worker.helpers import make_deployment, make_pool, queue_run

SECRET = 'Pa\\ss"w0rd-Ü'
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ\n"
    "-----END PRIVATE KEY-----\n"
)
FLOW = """\
import os

from deploytool import flow, get_run_logger


@flow
def leaky(fail: bool = False):
    password, key = os.environ["PW"], os.environ["PEM"]
    print(key)
    get_run_logger().info("connecting with %r", password)
    if fail:
        raise KeyError(password)
    return {"token": password, "pem": key}
"""


def _forms(secret: str) -> set[str]:
    """What would show a secret: its text, repr/ascii/JSON bodies, and each line of a multi-line one."""
    found = {secret, repr(secret)[1:-1], ascii(secret)[1:-1], json.dumps(secret)[1:-1]}
    found.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    found.update(line for line in secret.splitlines() if len(line) >= 4)
    return found


LEAKS = _forms(SECRET) | _forms(PEM)


def _leaked(text: str) -> list[str]:
    return sorted(form for form in LEAKS if form in text)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploytool", *args], capture_output=True, text=True, timeout=120)


def test_a_leaky_flow_shows_its_secrets_nowhere(isolated_home: Path, tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    with Store.open(isolated_home / "deploytool.db") as store:
        make_pool(store)
        store.blocks.set(Block(type="secret", name="pw", data={"value": SECRET}, secret_fields=["value"]))
        store.blocks.set(Block(type="secret", name="pem", data={"value": PEM}, secret_fields=["value"]))
        env = {"PW": "{{ prefect.blocks.secret.pw }}", "PEM": "{{ prefect.blocks.secret.pem }}"}
        deployment = make_deployment(store, tmp_path, "flow.py:leaky", job_variables={"env": env})
        failing = queue_run(store, deployment, parameters={"fail": True})
        returning = queue_run(store, deployment, parameters={})

    worker = _cli("worker", "start", "--pool", "p", "--run-once", "--limit", "2")
    assert worker.returncode == 0, worker.stderr
    assert _leaked(worker.stdout + worker.stderr) == []

    with Store.open(isolated_home / "deploytool.db") as store:
        failed, completed = store.runs.get(failing.id), store.runs.get(returning.id)
        stored = [line.message for run in (failed, completed) for line in store.logs.read(run.id, limit=10_000)]
    assert failed.state is RunState.FAILED, failed.state_message
    assert failed.state_message == f"failed: KeyError: '{MASK}'"
    assert completed.state is RunState.COMPLETED, completed.state_message
    assert _leaked("\n".join([*stored, failed.state_message or "", completed.state_message or ""])) == []
    everything = "\n".join(stored)
    assert f"connecting with '{MASK}'" in everything
    assert f"result: {{'token': '{MASK}', 'pem': '{MASK}'}}" in everything
    assert f"{MASK}\n{MASK}" in everything or everything.count(MASK) >= 5  # the key's lines, each masked

    for run in (failed, completed):
        for args in (
            ("flow-run", "logs", run.id),
            ("flow-run", "logs", run.id, "-o", "json"),
            ("flow-run", "inspect", run.id),
            ("flow-run", "inspect", run.id, "-o", "json"),
            ("flow-run", "watch", run.id),
            ("flow-run", "ls", "-o", "json"),
        ):
            shown = _cli(*args)
            assert shown.returncode in (0, 3), (args, shown.stderr)
            assert _leaked(shown.stdout + shown.stderr) == [], args
