"""A worker records the task runs its jobs report: in the run's log and in `flow-run inspect`."""

from __future__ import annotations

from pathlib import Path

from deploytool.core.runs import inspect_run
from deploytool.models import TERMINAL, RunState
from deploytool.store import Store
from tests.worker.helpers import log_text, make_deployment, queue_run, state_of, tick_until, worker

FLOW = """
from deploytool import flow, task

@task(retries=1, retry_delay_seconds=0)
def fetch(i: int) -> int:
    if i == 1:
        raise ValueError(f"no row {i}")
    return i

@flow
def main() -> None:
    futures = fetch.map([0, 1])
    futures.wait()
"""


def test_task_runs_are_logged_and_listed_with_states_and_durations(store: Store, project: Path) -> None:
    (project / "flow.py").write_text(FLOW)
    run = queue_run(store, make_deployment(store, project, "flow.py:main"))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    w.close()
    assert state_of(store, run.id) is RunState.COMPLETED  # an unresolved failed future does not fail the flow
    logs = log_text(store, run.id)
    assert "INFO engine task run 'fetch-0' started" in logs
    assert "INFO engine task run 'fetch-0' completed in " in logs
    assert "WARNING engine task run 'fetch-1' attempt 1/2 failed: ValueError: no row 1; retrying in 0s" in logs
    assert "ERROR engine task run 'fetch-1' failed after 2 attempts in " in logs
    task_runs = {t["name"]: t for t in inspect_run(store, run.id).to_dict()["task_runs"]}
    assert set(task_runs) == {"fetch-0", "fetch-1"}
    assert task_runs["fetch-0"]["state"] == "COMPLETED" and task_runs["fetch-0"]["attempts"] == 1
    assert task_runs["fetch-1"]["state"] == "FAILED" and task_runs["fetch-1"]["attempts"] == 2
    assert task_runs["fetch-1"]["message"] == "ValueError: no row 1"
    assert all(isinstance(t["duration_seconds"], float) and t["end_time"] for t in task_runs.values())
