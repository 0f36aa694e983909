"""Running a run's pull steps inside the job, before the flow is loaded.

The steps are run by `deploytool.steps.pull.run_pull_steps(steps, cwd)`, which also resolves
`{{ step_id.key }}` references to earlier pull steps' outputs and prints each step's output (so it becomes the
run's log). This module imports it only when a run has pull steps, and reports the outcome as an event.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from deploytool.engine import events

STEP_HOOK_MODULE = "deploytool.steps.pull"

Emit = Callable[..., None]


class PullStepError(Exception):
    """The pull steps failed, or cannot be run here. Carries the hint of the underlying error, if any."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _load_hook() -> Callable[..., Any]:
    # Imported by name, only when a run has pull steps: a run without any never pays for the step runner.
    try:
        module = importlib.import_module(STEP_HOOK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != STEP_HOOK_MODULE:
            raise
        raise PullStepError(
            f"this installation of deploytool cannot run pull steps ({STEP_HOOK_MODULE} is missing)",
            hint="install the same deploytool version in the job's environment as the worker's",
        ) from None
    hook: Callable[..., Any] = module.run_pull_steps
    return hook


def run_pull_steps(steps: Sequence[Mapping[str, Any]], cwd: str, emit: Emit) -> str:
    """Run the steps from `cwd` and return the directory the run continues in.

    Reports `pull_finished` (outputs by step id, the directory) or `pull_failed`, then raises PullStepError.
    """
    started = time.monotonic()
    try:
        result = _load_hook()(list(steps), cwd)
    except Exception as exc:
        message = getattr(exc, "message", None) or str(exc)
        hint = getattr(exc, "hint", None)
        fields = events.exception_fields(exc)
        fields.update(message=message)
        if getattr(exc, "message", None):  # a step's own error (StepError) says what and where: no traceback
            fields.update(traceback=None)
        emit(events.PULL_FAILED, steps=len(steps), hint=hint, **fields)
        raise PullStepError(message, hint) from exc
    directory = os.fspath(getattr(result, "directory", cwd))
    outputs = getattr(result, "outputs", {})
    emit(
        events.PULL_FINISHED,
        steps=len(steps),
        outputs={
            str(step_id): {k: v if isinstance(v, str) else events.short_repr(v) for k, v in dict(out).items()}
            for step_id, out in dict(outputs).items()
        },
        directory=str(directory),
        duration_seconds=round(time.monotonic() - started, 3),
    )
    return directory
