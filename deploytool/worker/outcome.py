"""How a finished job becomes a run's final state and message (the table is in docs/worker.md)."""

from __future__ import annotations

from deploytool.engine import events
from deploytool.infra.base import JobOutcome
from deploytool.models import RunState
from deploytool.worker.jobs import CANCEL, SHUTDOWN, TIMEOUT, ActiveRun
from deploytool.worker.output import error_text, timed_out_text


def final_state(active: ActiveRun, worker_name: str) -> tuple[RunState, str]:
    """The state to record for a job that has ended, and its message (not yet redacted)."""
    final = active.output.final
    outcome = active.outcome
    if active.error is not None or outcome is None:
        error = active.error
        return RunState.CRASHED, f"the worker lost track of the job: {type(error).__name__}: {error}"
    completed = final is not None and final.get("event") == events.COMPLETED and outcome.exit_code == 0
    if active.stop_reason == CANCEL:
        if completed and not outcome.killed:
            return RunState.COMPLETED, "completed before the cancellation stopped it"
        return RunState.CANCELLED, f"cancelled: {_stopped(outcome)}"
    if active.stop_reason == TIMEOUT:
        return RunState.FAILED, f"{active.stop_detail}; stopped by the worker: {_stopped(outcome)}"
    if active.stop_reason == SHUTDOWN:
        if completed:
            return RunState.COMPLETED, "completed"
        return RunState.CRASHED, f"worker {worker_name!r} shut down {active.stop_detail}: {_stopped(outcome)}"
    return from_engine(final, outcome)


def from_engine(final: dict[str, object] | None, outcome: JobOutcome) -> tuple[RunState, str]:
    """The state the engine's final event and the exit code stand for, for a job that ended by itself."""
    kind = final.get("event") if final is not None else None
    if final is None or kind is None:
        return RunState.CRASHED, f"{outcome.describe()} without reporting an outcome"
    if kind == events.COMPLETED:
        if outcome.exit_code != 0:
            return RunState.COMPLETED, f"completed (then {outcome.describe()})"
        return RunState.COMPLETED, "completed"
    if kind == events.FAILED:
        stage = final.get("stage")
        where = "" if stage in (None, "flow") else f" before the flow ran ({stage})"
        hint = f" (hint: {final['hint']})" if final.get("hint") and stage != "flow" else ""
        return RunState.FAILED, f"failed{where}: {error_text(dict(final))}{hint}"
    if kind == events.TIMED_OUT:
        return RunState.FAILED, timed_out_text(dict(final))
    if kind == events.TERMINATED:
        return (
            RunState.CRASHED,
            f"the job was stopped by {final.get('signal')} from outside the worker ({outcome.describe()})",
        )
    return RunState.CRASHED, f"{outcome.describe()} after an unknown final event {kind!r}"


def _stopped(outcome: JobOutcome) -> str:
    return outcome.describe()
