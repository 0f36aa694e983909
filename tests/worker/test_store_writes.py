"""What a worker writes per run, and how it is grouped: a run's last log lines and its outcome are one change, so
the store never shows a finished run without the end of its log, and a write sent again stores nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploytool.errors import StoreUnavailableError
from deploytool.models import RunState
from deploytool.store import Store
from tests.worker.helpers import log_text, make_deployment, queue_run, state_of, tick_until, worker, write_flow


def test_a_run_s_outcome_and_its_last_lines_are_stored_together(
    store: Store, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store is away while the job runs, so all its lines wait; it answers once the job has ended, but the
    outcome's write fails once: the lines went with it, and are stored once, with the outcome, by the next pass."""
    run = queue_run(store, make_deployment(store, project, write_flow(project, "print('the last words')")))
    w = worker(store)
    append, set_state = store.logs.append, store.runs.set_state
    refused: list[str] = []

    def away_while_it_runs(*args: Any, **kwargs: Any) -> None:
        if not any(active.done for active in w.active.values()) and not refused:
            raise StoreUnavailableError("the store went away")
        append(*args, **kwargs)

    def away_once(run_id: str, state: RunState, *args: Any, **kwargs: Any) -> Any:
        if state is RunState.COMPLETED and not refused:
            refused.append(log_text(store, run_id))  # what the log holds inside the failing transaction
            raise StoreUnavailableError("the store went away")
        return set_state(run_id, state, *args, **kwargs)

    monkeypatch.setattr(store.logs, "append", away_while_it_runs)
    monkeypatch.setattr(store.runs, "set_state", away_once)
    w.register()
    tick_until(w, lambda: bool(refused))
    assert "the last words" in refused[0]  # written in the same transaction as the outcome ...
    assert state_of(store, run.id) is RunState.RUNNING
    assert "the last words" not in log_text(store, run.id)  # ... and gone with it when that failed
    tick_until(w, lambda: state_of(store, run.id) is RunState.COMPLETED)
    w.close()
    assert log_text(store, run.id).count("the last words") == 1


def test_the_pid_of_a_job_is_stored_with_the_log_lines_of_its_pass(
    store: Store, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job's infrastructure id is written with the pass's log lines; when that write fails, the next pass
    writes both again."""
    run = queue_run(store, make_deployment(store, project, write_flow(project, "import time\ntime.sleep(1)")))
    set_id = store.runs.set_infrastructure_id
    failures: list[str] = []

    def away_once(run_id: str, worker_name: str, job_id: str) -> None:
        if not failures:
            failures.append(job_id)
            raise StoreUnavailableError("the store went away")
        set_id(run_id, worker_name, job_id)

    monkeypatch.setattr(store.runs, "set_infrastructure_id", away_once)
    w = worker(store)
    w.register()
    tick_until(w, lambda: bool(failures))
    assert store.runs.get(run.id).infrastructure_id is None
    tick_until(w, lambda: state_of(store, run.id) is RunState.COMPLETED)
    w.close()
    assert store.runs.get(run.id).infrastructure_id == failures[0]
