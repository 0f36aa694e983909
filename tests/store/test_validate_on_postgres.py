"""`deploytool validate` checks job variables against the pool in the store every command uses: with
DEPLOYTOOL_STORE_URL / --store on PostgreSQL too; a store that does not answer is a warning, not a failure."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.store import pg_cluster as pg
from tests.store.helpers import deploytool

DEPLOY_YAML = """
deployments:
  - name: nightly
    entrypoint: flows.py:etl
    work_pool:
      name: local
      job_variables:
        workdir: /tmp
"""
FLOW = "from deploytool import flow\n\n@flow\ndef etl():\n    pass\n"


def _project(tmp_path: Path) -> Path:
    (tmp_path / "deploy.yaml").write_text(DEPLOY_YAML)
    (tmp_path / "flows.py").write_text(FLOW)
    return tmp_path


def test_validate_checks_job_variables_against_the_pool_in_the_postgresql_store(
    postgres: pg.Cluster, tmp_path: Path
) -> None:
    url = postgres.fresh_database()
    project = _project(tmp_path)
    created = deploytool("--store", url, "work-pool", "create", "local", "--type", "process", cwd=project)
    assert created.returncode == 0, created.stderr
    done = deploytool("--store", url, "validate", cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    text = done.stdout + done.stderr
    assert "deployments[nightly].work_pool.job_variables.workdir: unknown job variable (pool 'local'" in text
    assert "Traceback" not in text


def test_a_store_that_does_not_answer_is_a_warning_and_the_file_is_still_valid(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    project = _project(tmp_path)
    done = deploytool("--store", f"postgresql://nobody@127.0.0.1:{port}/none", "validate", cwd=project)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert "could not check job variables against their work pools" in text
    assert "valid, 1 deployment" in text and "Traceback" not in text
