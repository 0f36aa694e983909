"""The end of `flow-run inspect`: exit code, parameters, where the logs are, and the run's task runs."""

from __future__ import annotations

import json
from typing import Any


def print_inspect_tail(data: dict[str, Any]) -> None:
    """Print an inspected run's (`core.runs.inspect_run`) exit code, infrastructure id, idempotency key,
    parameters, job variables, log count and one line per task run."""
    for key in ("exit_code", "infrastructure_id", "idempotency_key"):
        print(f"{key}: {'-' if data[key] is None else data[key]}")
    print(f"parameters: {json.dumps(data['parameters'], default=str)}")
    print(f"job_variables: {json.dumps(data['job_variables'], default=str)}")
    print(f"logs: {data['log_lines']} lines: deploytool flow-run logs {data['id'][:8]}")
    task_runs = data["task_runs"]
    print(f"task runs: {len(task_runs) or '-'}")
    for t in task_runs:
        attempts = f" ({t['attempts']} attempts)" if t["attempts"] > 1 else ""
        took = f" {_seconds(t['duration_seconds'])}" if t["duration_seconds"] is not None else ""
        message = f": {t['message']}" if t["message"] else ""
        print(f"  {t['name']}  {t['state']}{took}{attempts}{message}")


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value < 60 else f"{int(value) // 60}m{int(value) % 60:02d}s"
