"""Builders shared by the core, CLI and dashboard tests: a deployment with a parameter schema, a simulated worker,
a store holding one of everything the JSON documents show."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from deploytool.jobvars import default_base_job_template
from deploytool.models import Deployment, FlowRun, LogLine, RunState, TaskRun, WorkPool, utcnow
from deploytool.store import Store

SCHEMA = {
    "title": "Parameters",
    "type": "object",
    "properties": {
        "count": {"title": "count", "position": 0, "type": "integer"},
        "name": {"title": "name", "position": 1, "type": "string", "default": "world"},
        "tags": {"title": "tags", "position": 2, "type": "array", "items": {"type": "string"}, "default": []},
        "version": {"title": "version", "position": 3, "type": "string", "default": "1"},
    },
    "required": ["count"],
    "additionalProperties": False,
}


def add_local_pool(store: Store) -> WorkPool:
    """The process pool `local` (its type's default base job template), the pool of add_deployment's deployments."""
    return store.pools.create(WorkPool("local", "process", default_base_job_template("process")))


def add_deployment(store: Store, name: str = "daily", **changes: object) -> Deployment:
    fields: dict[str, object] = {
        "flow_name": "etl",
        "name": name,
        "entrypoint": "flows.py:etl",
        "pool_name": "local",
        "parameter_schema": SCHEMA,
    }
    fields.update(changes)
    deployment, _ = store.deployments.upsert(Deployment(**fields))  # type: ignore[arg-type]
    return deployment


def simulate_worker(db_path: str, run_id: str, final: RunState, pool: str = "local", delay: float = 0.1) -> None:
    """What a worker does to the store: heartbeat, claim, RUNNING, log lines, the final state."""
    with Store.open(db_path) as store:
        store.workers.heartbeat("w1", pool, "host", 1, utcnow())
        time.sleep(delay)
        claimed = store.runs.claim_next(pool, None, "w1", 30, utcnow())
        assert claimed is not None and claimed.id == run_id
        store.runs.set_state(run_id, RunState.RUNNING, expect_worker="w1")
        for i in range(3):
            store.logs.append(run_id, [LogLine(run_id, utcnow(), "INFO", "stdout", f"line {i}")])
            time.sleep(delay / 3)
        if final is RunState.CANCELLED:
            store.runs.set_state(run_id, RunState.CANCELLING)
        store.logs.append(run_id, [LogLine(run_id, utcnow(), "INFO", "worker", "finishing")])
        store.runs.set_state(run_id, final, "done" if final is RunState.COMPLETED else "it went wrong")


def populate_documents(store: Store, now: datetime) -> dict[str, str]:
    """One of everything the `-o json` documents and the dashboard's API show: a pool with a second queue, a
    deployment, a FAILED run (due `now`) with two task runs and a log line holding a secret, a run due a day after
    `now`, a variable and two blocks (one with a secret, `s3cr3t-value`). Returns the runs' and deployment's ids
    (and id prefixes) with the placeholders that replace them in golden files."""
    store.pools.create(WorkPool("local", "process", default_base_job_template("process"), description="the pool"))
    store.queues.create("local", "fast", priority=5, concurrency_limit=2)
    deployment = add_deployment(
        store, parameters={"count": 1}, job_variables={"env": {"A": "1"}}, tags=["nightly"], description="d"
    )
    done = store.runs.create(
        FlowRun("etl", "daily", "local", deployment.id, name="done-run", parameters={"count": 2}, scheduled_time=now)
    )
    store.workers.heartbeat("w1", "local", "host", 1, now)
    claimed = store.runs.claim_next("local", None, "w1", 30, now)
    assert claimed is not None
    store.runs.set_state(done.id, RunState.RUNNING, expect_worker="w1")
    store.logs.append(done.id, [LogLine(done.id, now, "INFO", "stdout", "hello s3cr3t-value")])
    store.task_runs.record(
        [
            TaskRun("t-1", done.id, "extract-0", "extract", "COMPLETED", now, attempts=2, end_time=now),
            TaskRun("t-2", done.id, "load-0", "load", "FAILED", now, message="boom", tags=("io",)),
        ]
    )
    store.runs.set_state(done.id, RunState.FAILED, "it went wrong")
    waiting = store.runs.create(
        FlowRun("etl", "daily", "local", deployment.id, name="waiting-run", scheduled_time=now + timedelta(days=1))
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
