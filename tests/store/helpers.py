"""Small builders shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from deploytool.models import Deployment, FlowRun

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def run_for(deployment: Deployment, *, at: datetime = NOW, **fields: Any) -> FlowRun:
    """A SCHEDULED run of the deployment, due at `at`."""
    values: dict[str, Any] = {
        "flow_name": deployment.flow_name,
        "deployment_name": deployment.name,
        "pool_name": deployment.pool_name,
        "queue_name": deployment.queue_name,
        "deployment_id": deployment.id,
        "scheduled_time": at,
    }
    values.update(fields)
    return FlowRun(**values)


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)
