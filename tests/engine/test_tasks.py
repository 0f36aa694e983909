"""Task runs inside a real engine process: one event at each start, retry and end, with names and durations."""

from __future__ import annotations

from pathlib import Path

from tests.engine.helpers import make_spec, run_engine, write_flow

ETL = """
from deploytool import flow, task, unmapped

calls = {"n": 0}

@task(retries=1)
def extract(n: int) -> list[int]:
    calls["n"] += 1
    if calls["n"] == 1:
        raise ConnectionError("flaky source")
    return list(range(n))

@task(tags=["load"])
def load(row: int, target: str) -> str:
    return f"{target}:{row}"

@flow
def main(n: int = 2) -> list[str]:
    rows = extract(n)
    return load.map(rows, unmapped("db")).result()
"""


def test_each_task_run_reports_its_start_retries_and_end(tmp_path: Path) -> None:
    write_flow(tmp_path, ETL)
    run = run_engine(tmp_path, make_spec(parameters={"n": 2}))
    assert run.exit_code == 0, run.log
    tasks = [e for e in run.events if e["event"].startswith("task_")]
    names = [(e["event"], e["task_run_name"]) for e in tasks]
    assert names[:3] == [("task_started", "extract-0"), ("task_retrying", "extract-0"), ("task_finished", "extract-0")]
    expected = [(kind, name) for kind in ("task_started", "task_finished") for name in ("load-0", "load-1")]
    assert sorted(names[3:]) == sorted(expected)
    retry = tasks[1]
    assert retry["attempt"] == 1 and retry["error_type"] == "ConnectionError" and retry["message"] == "flaky source"
    finished = tasks[2]
    assert finished["state"] == "COMPLETED" and finished["attempts"] == 2
    assert isinstance(finished["duration_seconds"], float)
    load_started = next(e for e in tasks if e["event"] == "task_started" and e["task_name"] == "load")
    assert load_started["tags"] == ["load"]
    assert run.one("completed")["result_repr"] == "['db:0', 'db:1']"
