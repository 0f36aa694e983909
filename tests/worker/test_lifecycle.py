"""One worker, real subprocess jobs: the states a run goes through and what ends up in its logs."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from deploytool.models import TERMINAL, Block, RunState, utcnow
from deploytool.store import Store
from tests.worker.helpers import (
    log_text,
    make_deployment,
    queue_run,
    state_of,
    tick_until,
    wait_for,
    worker,
    write_flow,
)


def test_a_run_completes_with_its_prints_in_the_logs(store: Store, project: Path) -> None:
    entry = write_flow(project, "import os\nprint('hello from', os.getcwd())\nprint('x =', kwargs['x'])")
    deployment = make_deployment(store, project, entry, parameters={"x": 1})
    run = queue_run(store, deployment, parameters={"x": 42})
    w = worker(store)
    w.register()
    w.tick()
    assert store.runs.get(run.id).state in (RunState.RUNNING, RunState.COMPLETED)
    tick_until(w, lambda: state_of(store, run.id) is RunState.COMPLETED)
    done = store.runs.get(run.id)
    assert done.state_message == "completed"
    assert done.exit_code == 0 and done.start_time is not None and done.end_time is not None
    assert done.worker_name == "w1"
    logs = log_text(store, run.id)
    assert f"INFO stdout hello from {project}" in logs
    assert "INFO stdout x = 42" in logs
    assert "claimed by worker 'w1'" in logs
    w.close()
    assert store.workers.list() == []


def test_a_failing_flow_is_failed_with_its_traceback_in_the_logs(store: Store, project: Path) -> None:
    entry = write_flow(project, "print('about to fail')\nraise ValueError('bad input 7')")
    run = queue_run(store, make_deployment(store, project, entry))
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    done = store.runs.get(run.id)
    assert done.state is RunState.FAILED
    assert done.state_message == "failed: ValueError: bad input 7"
    assert done.exit_code == 1
    logs = log_text(store, run.id)
    assert "about to fail" in logs
    assert "Traceback (most recent call last)" in logs and "raise ValueError('bad input 7')" in logs


def test_a_bad_entrypoint_fails_that_run_and_the_worker_carries_on(store: Store, project: Path) -> None:
    good = make_deployment(store, project, write_flow(project, "print('fine')"), name="good")
    bad = make_deployment(store, project, "flow.py:nope", name="bad")
    missing = make_deployment(store, project, "missing.py:main", name="missing")
    runs = [queue_run(store, bad), queue_run(store, missing), queue_run(store, good)]
    w = worker(store)
    w.register()
    tick_until(w, lambda: all(state_of(store, r.id) in TERMINAL for r in runs))
    states = [store.runs.get(r.id) for r in runs]
    assert [s.state for s in states] == [RunState.FAILED, RunState.FAILED, RunState.COMPLETED]
    assert (states[0].state_message or "").startswith("failed before the flow ran (load): flow.py has no 'nope'")
    assert (states[1].state_message or "").startswith("failed before the flow ran (load): flow file missing.py")
    assert "deploytool." not in (states[0].state_message or "") + log_text(store, runs[0].id)  # no internal types
    assert "nope" in log_text(store, runs[0].id)


def test_a_run_whose_deployment_was_deleted_fails_with_a_message(store: Store, project: Path) -> None:
    deployment = make_deployment(store, project, write_flow(project, "pass"))
    run = queue_run(store, deployment, deployment_id=None)  # what a run keeps when its deployment is deleted
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    done = store.runs.get(run.id)
    assert done.state is RunState.FAILED
    assert "was deleted" in (done.state_message or "")


def test_a_broken_template_or_a_missing_block_fails_that_run(store: Store, project: Path) -> None:
    entry = write_flow(project, "pass")
    broken = make_deployment(store, project, entry, name="broken", job_variables={"env": {"A": "{{ nope.x }}"}})
    no_block = make_deployment(
        store, project, entry, name="noblock", job_variables={"env": {"A": "{{ prefect.blocks.secret.gone }}"}}
    )
    runs = [queue_run(store, broken), queue_run(store, no_block)]
    w = worker(store)
    w.register()
    tick_until(w, lambda: all(state_of(store, r.id) in TERMINAL for r in runs))
    first, second = (store.runs.get(r.id) for r in runs)
    assert first.state is RunState.FAILED and "nope" in (first.state_message or "")
    assert second.state is RunState.FAILED and "block" in (second.state_message or "")
    assert "could not be rendered" in log_text(store, second.id)


def test_an_infrastructure_start_failure_crashes_that_run(store: Store, project: Path) -> None:
    entry = write_flow(project, "pass")
    deployment = make_deployment(store, project, entry, job_variables={"working_dir": str(project / "absent")})
    run = queue_run(store, deployment)
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    done = store.runs.get(run.id)
    assert done.state is RunState.CRASHED
    assert "could not start the job" in (done.state_message or "") and "absent" in (done.state_message or "")


def test_secrets_from_blocks_reach_the_job_but_never_the_logs(store: Store, project: Path) -> None:
    store.blocks.set(Block(type="secret", name="db", data={"value": "hunter2-s3cret"}, secret_fields=["value"]))
    entry = write_flow(
        project,
        "import os\nprint('password is', os.environ['DB_PASSWORD'])\nraise RuntimeError(os.environ['DB_PASSWORD'])",
    )
    deployment = make_deployment(
        store, project, entry, job_variables={"env": {"DB_PASSWORD": "{{ prefect.blocks.secret.db }}"}}
    )
    run = queue_run(store, deployment)
    w = worker(store)
    w.register()
    tick_until(w, lambda: state_of(store, run.id) in TERMINAL)
    done = store.runs.get(run.id)
    logs = log_text(store, run.id)
    assert "password is ***" in logs
    assert "hunter2" not in logs
    assert done.state is RunState.FAILED and done.state_message == "failed: RuntimeError: ***"
    assert "hunter2" not in repr(store.deployments.get(deployment.id))


def test_the_end_time_is_when_the_outcome_is_recorded_not_when_the_pass_began(
    store: Store, project: Path, monkeypatch: Any
) -> None:
    run = queue_run(store, make_deployment(store, project, write_flow(project, "print('x')")))
    w = worker(store)
    w.register()
    tick_until(w, lambda: bool(w.active))
    wait_for(lambda: all(a.done for a in w.active.values()))
    flush = w._flush

    def slow_flush(*args: Any, **kwargs: Any) -> None:  # as writing 100 000 log lines of a chatty flow does
        time.sleep(0.5)
        flush(*args, **kwargs)

    monkeypatch.setattr(w, "_flush", slow_flush)
    began = utcnow()
    w.tick()
    done = store.runs.get(run.id)
    assert done.state is RunState.COMPLETED
    assert done.end_time is not None and done.end_time >= began + timedelta(seconds=0.5)
    w.close()
