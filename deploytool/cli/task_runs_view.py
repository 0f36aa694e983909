"""The end of `flow-run inspect`: exit code, parameters, where the logs are, and the run's task runs."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: imported at the start of the flow-run commands
if TYPE_CHECKING:
    from deploytool.core.run_summary import RunDetail


def print_inspect_tail(detail: RunDetail) -> None:
    """Print an inspected run's (`core.runs.inspect_run`) exit code, infrastructure id, idempotency key,
    parameters, job variables, log count and one line per task run."""
    import json

    for key, value in (
        ("exit_code", detail.exit_code),
        ("infrastructure_id", detail.infrastructure_id),
        ("idempotency_key", detail.idempotency_key),
    ):
        print(f"{key}: {'-' if value is None else value}")
    print(f"parameters: {json.dumps(detail.parameters, default=str)}")
    print(f"job_variables: {json.dumps(detail.job_variables, default=str)}")
    print(f"logs: {detail.log_lines} lines: deploytool flow-run logs {detail.summary.id[:8]}")
    print(f"task runs: {len(detail.task_runs) or '-'}")
    for t in detail.task_runs:
        attempts = f" ({t.attempts} attempts)" if t.attempts > 1 else ""
        took = f" {_seconds(t.duration_seconds)}" if t.duration_seconds is not None else ""
        message = f": {t.message}" if t.message else ""
        print(f"  {t.name}  {t.state}{took}{attempts}{message}")


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value < 60 else f"{int(value) // 60}m{int(value) % 60:02d}s"
