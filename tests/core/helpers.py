"""Builders shared by the core and CLI run tests: a deployment with a parameter schema, a simulated worker."""

from __future__ import annotations

import time

from deploytool.models import Deployment, LogLine, RunState, utcnow
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
