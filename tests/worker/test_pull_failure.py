"""A failing pull step fails the run once, with the step's message and hint, in the run's log."""

from __future__ import annotations

from pathlib import Path

from deploytool.models import RunState
from deploytool.store import Store
from tests.worker.helpers import (
    log_text,
    make_deployment,
    make_pool,
    queue_run,
    state_of,
    tick_until,
    worker,
    write_flow,
)


def test_a_failing_pull_step_is_reported_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "deploytool.db") as store:
        make_pool(store)
        entry = write_flow(tmp_path, "print('never')")
        missing = tmp_path / "not-there"
        deployment = make_deployment(
            store,
            tmp_path,
            entry,
            pull_steps=[{"name": "set_working_directory", "id": None, "inputs": {"directory": str(missing)}}],
        )
        run = queue_run(store, deployment)
        w = worker(store)
        tick_until(w, lambda: state_of(store, run.id) is RunState.FAILED)
        w.close()
        text = log_text(store, run.id)
    failures = [line for line in text.splitlines() if "flow run failed" in line]
    assert len(failures) == 1, text
    assert "(pull)" in failures[0] and str(missing) in failures[0]
    assert "never" not in text
