"""`deploytool store grant --role NAME --as deployer|worker|viewer` on a real PostgreSQL server: each role runs the
real CLI commands of its job, and what it may not do is refused with a clear error (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store import pg_cluster as pg
from tests.store.helpers import deploytool

SECRET = "ci-only-s3cr3t-value"
DEPLOY_YAML = """
deployments:
  - name: nightly
    entrypoint: flows.py:etl
    work_pool:
      name: local
      job_variables:
        env: {DB_PASSWORD: "{{ prefect.blocks.secret.db }}"}
"""
FLOW = """
import os
from deploytool import flow

@flow
def etl():
    print('secret length', len(os.environ['DB_PASSWORD']))
"""


def _as(url: str, role: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI, connected to the store as `role` (the test cluster trusts local connections)."""
    return deploytool("--store", url.replace("postgres@", f"{role}@"), *args, cwd=cwd)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _refused(done: subprocess.CompletedProcess[str], role: str, what: str) -> str:
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text and SECRET not in text
    assert f"permission denied: role {role} may not {what} in the store at 127.0.0.1:" in text, text
    assert "deploytool store grant --as deployer|worker|viewer" in text
    return text


def test_each_role_does_its_job_and_nothing_else(postgres: pg.Cluster, tmp_path: Path) -> None:
    url = postgres.fresh_database()
    for role, kind in (("ci", "deployer"), ("runner", "worker"), ("reader", "viewer")):
        granted = json.loads(_ok(_as(url, "postgres", "store", "grant", "--role", role, "--as", kind, "-o", "json")))
        assert granted["data"]["kind"] == kind and granted["data"]["created"] is True
    again = _ok(_as(url, "postgres", "store", "grant", "--role", "ci", "--as", "deployer"))  # idempotent
    assert "Role ci is a deployer" in again

    # The deployer (CI): pools, blocks, variables, deployments, and queuing runs.
    project = tmp_path / "project"
    project.mkdir()
    (project / "deploy.yaml").write_text(DEPLOY_YAML)
    (project / "flows.py").write_text(FLOW)
    _ok(_as(url, "ci", "work-pool", "create", "local", "--type", "process"))
    _ok(_as(url, "ci", "block", "set", "secret/db", f"value={SECRET}"))
    _ok(_as(url, "ci", "variable", "set", "region", "eu"))
    _ok(_as(url, "ci", "deploy", "--all", cwd=project))
    _ok(_as(url, "ci", "run", "etl/nightly"))

    # The worker: claims and runs the run, records its logs; cannot change a deployment, a variable or a block.
    _ok(_as(url, "runner", "worker", "start", "--pool", "local", "--run-once"))
    runs = json.loads(_ok(_as(url, "reader", "flow-run", "ls", "-o", "json")))["data"]
    assert [r["state"] for r in runs] == ["COMPLETED"]
    assert f"secret length {len(SECRET)}" in _ok(_as(url, "reader", "flow-run", "logs", runs[0]["id"]))
    _refused(_as(url, "runner", "deployment", "pause", "etl/nightly"), "runner", "change deployments")
    _refused(_as(url, "runner", "variable", "set", "region", "us", "--overwrite"), "runner", "change variables")
    _refused(_as(url, "runner", "block", "set", "secret/db", "value=stolen"), "runner", "change blocks")
    _refused(_as(url, "runner", "work-pool", "pause", "local"), "runner", "change work pools")

    # The viewer reads everything (block secrets stay encrypted) and changes nothing.
    for command in (["work-pool", "ls"], ["deployment", "ls"], ["block", "inspect", "secret/db"], ["worker", "ls"]):
        assert SECRET not in _ok(_as(url, "reader", *command))
    _refused(_as(url, "reader", "run", "etl/nightly"), "reader", "change flow runs")
    _refused(_as(url, "reader", "variable", "unset", "region"), "reader", "change variables")
    import psycopg

    with psycopg.connect(url.replace("postgres@", "reader@")) as conn:
        rows = conn.execute("SELECT * FROM blocks").fetchall()
    assert rows and SECRET not in repr(rows)


def test_grant_is_for_postgresql_only(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "deploytool", "store", "grant", "--role", "ci", "--as", "deployer"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "store grant is for PostgreSQL stores" in done.stderr


@pytest.mark.parametrize("role", ['ci"; DROP TABLE blocks; --', "1abc"])
def test_a_bad_role_name_is_refused(postgres: pg.Cluster, role: str) -> None:
    done = _as(postgres.fresh_database(), "postgres", "store", "grant", "--role", role, "--as", "viewer")
    assert done.returncode == 1 and "invalid role name" in done.stderr and "Traceback" not in done.stderr
