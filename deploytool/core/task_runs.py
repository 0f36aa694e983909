"""The task runs of a flow run, as `flow-run inspect` shows them."""

from __future__ import annotations

from typing import Any

from deploytool.store import Store


def task_run_summaries(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The flow run's task runs in the order they started: name, state, attempts, times, duration, error."""
    return [
        {
            "id": t.id,
            "name": t.name,
            "task_name": t.task_name,
            "state": t.state,
            "attempts": t.attempts,
            "start_time": t.start_time.isoformat(),
            "end_time": t.end_time.isoformat() if t.end_time else None,
            "duration_seconds": t.duration_seconds,
            "message": t.message,
            "tags": list(t.tags),
        }
        for t in store.task_runs.list(run_id)
    ]
