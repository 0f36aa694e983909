"""Builders for the scheduler tests: deployments with schedules, and the runs they got."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deploytool.models import Deployment, FlowRun, RunState
from deploytool.store import Store
from tests.worker.helpers import POOL


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def deploy(store: Store, schedules: list[dict[str, Any]], *, name: str = "d", **fields: Any) -> Deployment:
    stored, _ = store.deployments.upsert(
        Deployment(flow_name="f", name=name, entrypoint="flow.py:main", pool_name=POOL, schedules=schedules, **fields)
    )
    return stored


def auto_runs(store: Store, deployment: Deployment, state: RunState | None = None) -> list[FlowRun]:
    runs = store.runs.list(deployment_id=deployment.id, state=state, limit=100_000)
    runs = [r for r in runs if (r.idempotency_key or "").startswith("scheduled:")]
    return sorted(runs, key=lambda r: r.scheduled_time)


def times(runs: list[FlowRun]) -> list[datetime]:
    return [r.scheduled_time for r in runs]
