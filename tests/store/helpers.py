"""Small builders shared by the store tests."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
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


def deploytool(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process (this interpreter), with `env` over the test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "deploytool", *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,  # a safety net for a hung test, never a speed check
    )
