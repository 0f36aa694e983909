"""examples/prefect-flows: unchanged Prefect flow files deployed from their prefect.yaml with the real CLI and run
by a real worker (`worker start --run-once`), without prefect installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploytool.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "prefect-flows"
PASSWORD = "Tr0ub4dor&3-warehouse"


def _cli(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYTOOL_")}
    env.update(DEPLOYTOOL_HOME=str(home), NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-m", "deploytool", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"deploytool {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import importlib.util

    if importlib.util.find_spec("prefect") is not None:
        pytest.skip("prefect is installed here: these runs are about the compatibility layer")
    root = tmp_path_factory.mktemp("prefect-flows")
    project, home = root / "project", root / "home"
    shutil.copytree(EXAMPLE, project)
    _cli(home, project, "work-pool", "create", "local-process", "--type", "process")
    _cli(home, project, "variable", "set", "warehouse_region", "us-east-1")
    _cli(home, project, "block", "set", "secret/warehouse-password", f"value={PASSWORD}")
    _cli(home, project, "deploy", "--all")
    deployments = ["weather-etl/nightly", "flaky-api/poller", "warehouse-report/report", "runtime-tags/labelled"]
    deployments.append("log-prints-pipeline/prints")
    for name in deployments:
        _cli(home, project, "run", name)
    _cli(home, project, "worker", "start", "--pool", "local-process", "--run-once", "--limit", "5")
    results: dict[str, Any] = {"project": project}
    with Store.open(home / "deploytool.db") as store:
        for run in store.runs.list():
            logs = "\n".join(f"{x.level} {x.source} {x.message}" for x in store.logs.read(run.id, limit=100_000))
            results[f"{run.flow_name}/{run.deployment_name}"] = {
                "run": run,
                "logs": logs,
                "tasks": store.task_runs.list(run.id),
            }
        results["schemas"] = {d.full_name: d.parameter_schema for d in store.deployments.list()}
    return results


def _completed(ran: dict[str, Any], name: str) -> dict[str, Any]:
    found = ran[name]
    assert found["run"].state.value == "COMPLETED", found["logs"]
    assert "served by deploytool's Prefect compatibility layer" in found["logs"]
    return found  # type: ignore[no-any-return]


def test_etl_with_tasks_and_map(ran: dict[str, Any]) -> None:
    found = _completed(ran, "weather-etl/nightly")
    assert sorted(t.name for t in found["tasks"]) == [
        "extract-rows-0", "load-0", "transform-0", "transform-1", "transform-2", "transform-3",
    ]  # fmt: skip
    assert all(t.state == "COMPLETED" and t.duration_seconds is not None for t in found["tasks"])
    written = json.loads((ran["project"] / "out" / "weather.json").read_text())
    assert written[0] == {"city": "Zurich", "country": "CH", "temp": 11.5, "unit": "C"}
    assert "Loaded 4 rows into out/weather.json" in found["logs"]
    schema = ran["schemas"]["weather-etl/nightly"]
    assert set(schema["properties"]) == {"source", "output", "unit"} and not schema.get("required")


def test_task_retries(ran: dict[str, Any]) -> None:
    found = _completed(ran, "flaky-api/poller")
    assert [(t.state, t.attempts) for t in found["tasks"]] == [("COMPLETED", 3), ("COMPLETED", 3)]
    assert (
        "attempt 2/4 failed: flaky_api.ServiceUnavailable: 503 for page 0 (attempt 2); retrying in 0.1s"
        in (found["logs"])
    )


def test_secret_block_and_variable(ran: dict[str, Any]) -> None:
    found = _completed(ran, "warehouse-report/report")
    assert "using postgresql://report:***@warehouse.us-east-1.example.com/analytics" in found["logs"]
    assert PASSWORD not in found["logs"]
    assert found["run"].state_message and PASSWORD not in found["run"].state_message


def test_runtime_and_tags(ran: dict[str, Any]) -> None:
    found = _completed(ran, "runtime-tags/labelled")
    run = found["run"]
    assert f"summary: {run.name} ({run.id}) of deployment labelled" in found["logs"]
    assert "parameters: {'day': 'friday'}" in found["logs"]
    assert {t.tags for t in found["tasks"]} == {("reporting", "friday")}


def test_log_prints(ran: dict[str, Any]) -> None:
    found = _completed(ran, "log-prints-pipeline/prints")
    logs = found["logs"]
    assert "INFO flow scoring 3 names" in logs  # print() under log_prints is the flow's, not the engine's
    assert "scoring grace" in logs and "total 13" in logs
    assert "INFO stdout raw scores (not logged): [3, 5, 5]" in logs
