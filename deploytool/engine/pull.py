"""Running a run's pull steps inside the job, before the flow is loaded.

The steps are run by `deploytool.steps.pull.run_pull_steps(steps, cwd)`, which also resolves
`{{ step_id.key }}` references to earlier pull steps' outputs and prints each step's output (so it becomes the
run's log). This module imports it only when a run has pull steps, and reports the outcome as an event.

The pull step users have most (`prefect init` writes it) is a single `set_working_directory` to a fixed path.
Steps that are all of that kind, with directories that exist, are done here without the step runner, whose
imports (dataclasses, inspect, pathlib, subprocess) would cost each run's start more than the rest of the engine
(issue 17); anything else, and any such step that would fail, goes to the step runner, which words the error.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Mapping, Sequence

from deploytool.engine import events

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a job does not import typing (issue 17)
if TYPE_CHECKING:
    from typing import Any

STEP_HOOK_MODULE = "deploytool.steps.pull"
# set_working_directory and the names Prefect gives it (deploytool.steps.registry; a test holds them equal).
WORKING_DIRECTORY_STEPS = frozenset(
    {
        "set_working_directory",
        "prefect.deployments.steps.set_working_directory",
        "prefect.deployments.steps.pull.set_working_directory",
        "prefect.projects.steps.set_working_directory",
    }
)

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
    plain = working_directories_only(steps, cwd)
    if plain is not None:
        directory, outputs = plain
        _finished(emit, steps, outputs, directory, started)
        return directory
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
    _finished(emit, steps, getattr(result, "outputs", {}), directory, started)
    return directory


def working_directories_only(steps: Sequence[Mapping[str, Any]], cwd: str) -> tuple[str, dict[str, Any]] | None:
    """The directory the steps lead to and their outputs by id, when every step is a `set_working_directory` to a
    plain path (no `{{ }}` reference) that exists, as the step would resolve it; else None (the step runner)."""
    directory = cwd
    outputs: dict[str, Any] = {}
    for step in steps:
        inputs = step.get("inputs")
        if step.get("name") not in WORKING_DIRECTORY_STEPS or not isinstance(inputs, Mapping) or len(inputs) != 1:
            return None
        target = inputs.get("directory")
        if not isinstance(target, str) or not target.strip() or "{{" in target:
            return None
        directory = os.path.realpath(os.path.join(directory, os.path.expanduser(target)))
        if not os.path.isdir(directory):
            return None
        if step.get("id"):
            outputs[str(step["id"])] = {"directory": directory}
    return directory, outputs


def _finished(emit: Emit, steps: Sequence[object], outputs: Any, directory: str, started: float) -> None:
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
