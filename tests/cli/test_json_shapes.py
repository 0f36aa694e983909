"""The JSON documents of `-o json` and of the dashboard's API, pinned key by key (issue #11.4).

Core returns typed results and the CLI and the dashboard turn them into JSON; these tests hold that the JSON
users and scripts read stays exactly what it was: the same keys in the same order, the same values. Values
that change from one run of the test to the next (ids, times, durations) are replaced by `<volatile>`; the rest
is compared with the documents in tests/cli/golden/ as they are.

After a deliberate change of a document, rewrite its golden file: DEPLOYTOOL_WRITE_GOLDEN=1 pytest THIS_FILE.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deploytool.core import dashboard
from deploytool.jobvars import default_base_job_template
from deploytool.models import FlowRun, LogLine, RunState, TaskRun, WorkPool
from deploytool.store import Store
from tests.cli.cli_helpers import CLI, open_store
from tests.core.helpers import add_deployment

GOLDEN = Path(__file__).parent / "golden"
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00)?")
_RELATIVE = re.compile(r"\b(in \d+s|\d+s ago|\d+ s ago)")
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
VOLATILE = frozenset(
    {
        "id",
        "deployment_id",
        "flow_run_id",
        "created",
        "updated",
        "scheduled_time",
        "start_time",
        "end_time",
        "duration_seconds",
        "lease_expires",
        "last_heartbeat",
        "last_failure",
        "time",
        "now",
        "hours",
        "name_of_run",
        "last_log_id",
    }
)


def _normalise(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: "<volatile>" if k in VOLATILE and v is not None else _normalise(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, names) for v in value]
    if isinstance(value, str):
        for real, placeholder in names.items():
            value = value.replace(real, placeholder)
        return _RELATIVE.sub("<relative>", _TIME.sub("<time>", value))
    return value


def _check(name: str, document: Any, names: dict[str, str]) -> None:
    text = json.dumps(_normalise(document, names), indent=1) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("DEPLOYTOOL_WRITE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"the JSON of {name} changed (see {path})"


def _populate(store: Store) -> dict[str, str]:
    """A pool with a second queue, a deployment, a finished run with a task run and logs, a waiting run, a
    variable and two blocks (one with a secret). Returns the run names and ids to replace by placeholders."""
    store.pools.create(WorkPool("local", "process", default_base_job_template("process"), description="the pool"))
    store.queues.create("local", "fast", priority=5, concurrency_limit=2)
    deployment = add_deployment(
        store, parameters={"count": 1}, job_variables={"env": {"A": "1"}}, tags=["nightly"], description="d"
    )
    done = store.runs.create(
        FlowRun("etl", "daily", "local", deployment.id, name="done-run", parameters={"count": 2}, scheduled_time=NOW)
    )
    store.workers.heartbeat("w1", "local", "host", 1, NOW)
    claimed = store.runs.claim_next("local", None, "w1", 30, NOW)
    assert claimed is not None
    store.runs.set_state(done.id, RunState.RUNNING, expect_worker="w1")
    store.logs.append(done.id, [LogLine(done.id, NOW, "INFO", "stdout", "hello s3cr3t-value")])
    store.task_runs.record(
        [
            TaskRun("t-1", done.id, "extract-0", "extract", "COMPLETED", NOW, attempts=2, end_time=NOW),
            TaskRun("t-2", done.id, "load-0", "load", "FAILED", NOW, message="boom", tags=("io",)),
        ]
    )
    store.runs.set_state(done.id, RunState.FAILED, "it went wrong")
    waiting = store.runs.create(
        FlowRun("etl", "daily", "local", deployment.id, name="waiting-run", scheduled_time=NOW + timedelta(days=1))
    )
    store.variables.set("region", {"name": "eu", "zones": [1, 2]})
    from deploytool.core.values import set_block

    set_block(store, "secret/db-password", {"value": "s3cr3t-value"})
    set_block(store, "database/main", {"host": "db.example", "port": 5432, "password": "s3cr3t-value"})
    return {
        deployment.id: "<deployment-id>",
        done.id: "<done-id>",
        done.id[:8]: "<done-id8>",
        waiting.id: "<waiting-id>",
        waiting.id[:8]: "<waiting-id8>",
    }


@pytest.fixture
def populated(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[CLI, dict[str, str]]:
    with open_store() as store:
        names = _populate(store)
    return CLI(capsys, monkeypatch), names


COMMANDS = {
    "flow-run-inspect": ["flow-run", "inspect", "done-run"],
    "flow-run-why-finished": ["flow-run", "why", "done-run"],
    "flow-run-why-waiting": ["flow-run", "why", "waiting-run"],
    "flow-run-ls": ["flow-run", "ls"],
    "work-pool-ls": ["work-pool", "ls"],
    "work-pool-inspect": ["work-pool", "inspect", "local"],
    "work-queue-ls": ["work-queue", "ls"],
    "work-queue-inspect": ["work-queue", "inspect", "fast"],
    "variable-ls": ["variable", "ls"],
    "variable-get": ["variable", "get", "region"],
    "block-ls": ["block", "ls"],
    "block-inspect-secret": ["block", "inspect", "secret/db-password"],
    "block-inspect-fields": ["block", "inspect", "database/main"],
    "deployment-ls": ["deployment", "ls"],
    "deployment-inspect": ["deployment", "inspect", "etl/daily"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_json_documents_stay_as_they_are(populated: tuple[CLI, dict[str, str]], name: str) -> None:
    cli, names = populated
    result = cli(*COMMANDS[name], "--output", "json")
    assert result.code == 0, result.err
    assert "s3cr3t-value" not in result.out
    _check(f"cli-{name}", result.json(), names)


DASHBOARD: dict[str, Callable[[Store], Any]] = {
    "overview": lambda s: dashboard.overview(s, NOW),
    "pools": lambda s: dashboard.pools(s, NOW),
    "pool-detail": lambda s: dashboard.pool_detail(s, "local", NOW),
    "deployments": lambda s: dashboard.deployments(s, NOW),
    "deployment-detail": lambda s: dashboard.deployment_detail(s, "etl/daily", NOW),
    "runs": lambda s: dashboard.runs(s, now=NOW),
    "run-detail": lambda s: dashboard.run_detail(s, "done-run", NOW),
    "run-logs": lambda s: dashboard.run_logs(s, "done-run"),
}


@pytest.mark.parametrize("name", sorted(DASHBOARD))
def test_dashboard_documents_stay_as_they_are(populated: tuple[CLI, dict[str, str]], name: str) -> None:
    _, names = populated
    with open_store() as store:
        document = DASHBOARD[name](store)
    assert "s3cr3t-value" not in json.dumps(document)
    _check(f"ui-{name}", document, names)


_LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_DURATION = re.compile(r"\b\d+\.\ds\b")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_text_stays_as_it_is(
    populated: tuple[CLI, dict[str, str]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text the same commands print (rendered by the CLI from core's typed results) is unchanged too."""
    monkeypatch.setenv("TZ", "UTC")
    cli, names = populated
    result = cli(*COMMANDS[name])
    assert result.code == 0, result.err
    text = result.out
    for real, placeholder in sorted(names.items(), key=lambda item: -len(item[0])):
        text = text.replace(real, placeholder)
    text = _DURATION.sub(
        "<duration>", _RELATIVE.sub("<relative>", _LOCAL_TIME.sub("<time>", _TIME.sub("<time>", text)))
    )
    path = GOLDEN / f"cli-{name}.txt"
    if os.environ.get("DEPLOYTOOL_WRITE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"the text of {name} changed (see {path})"


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", ["prefect.yaml", "deploy.yaml"])
def test_validate_json_stays_as_it_is(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, example: str
) -> None:
    result = CLI(capsys, monkeypatch)("validate", "--file", str(EXAMPLES / example), "--output", "json")
    assert result.code == 0, result.err
    _check(f"cli-validate-{example.replace('.', '-')}", result.json(), {str(EXAMPLES): "<examples>"})
