"""Running a list of build or push steps at deploy time (pull steps at run time: see pull.py).

For each step, in order: render its inputs with the outputs of the steps before it, call its implementation,
and keep its outputs under its id. Outputs are addressable ONLY as `{{ <id>.<key> }}`: unlike Prefect, nothing is
merged into a flat namespace, so `{{ stdout }}` never silently means "whichever step printed last". A step
without an id has outputs nobody can refer to. The first failure stops the sequence with a StepError naming the
phase, the step's position, name and id, and the tail of its output; later steps are not run.

Rendering is the caller's: `render(inputs, outputs, path)` receives the step's inputs as written, the outputs so
far (id -> outputs) and the step's location (`build[1].run_shell_script`, for messages), and returns the inputs
to call the step with. `templating_render(context)` builds that callable from a TemplateContext, which is what
`deploytool deploy` uses; keeping it a parameter lets steps/ stay ignorant of env, variables and blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from deploytool.errors import StepError
from deploytool.records import replace
from deploytool.steps.base import OutputSink, StepContext, call_step, describe
from deploytool.steps.builtins import IMPLEMENTATIONS
from deploytool.steps.registry import STEPS, canonical_step

if TYPE_CHECKING:
    from deploytool.templating import TemplateContext

Outputs = dict[str, dict[str, Any]]


class StepCall(Protocol):
    """What run_steps reads of a step (config.project.StepCall has this shape; config and steps are sibling
    layers, so the dataclass is not imported here)."""

    @property
    def name(self) -> str: ...
    @property
    def written_name(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def id(self) -> str | None: ...
    @property
    def path(self) -> tuple[str | int, ...]: ...


Render = Callable[[dict[str, Any], Mapping[str, Mapping[str, Any]], str], dict[str, Any]]


def run_steps(
    calls: Sequence[StepCall],
    *,
    phase: str,
    cwd: Path,
    render: Render,
    on_output: OutputSink | None = None,
    secrets: Iterable[str] = (),
    outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Outputs:
    """Run `calls` in order and return the outputs of every step that has an id (id -> outputs).

    `phase` ("build", "push") names the steps in messages. `cwd` is where relative paths start
    (the project file's directory); a `set_working_directory` step moves it for the steps after it.
    `secrets` are hidden from streamed lines and errors. `outputs` seeds the namespace (the build steps'
    outputs, when running the push steps); it is returned together with the new outputs.
    """
    _check_ids(calls, phase, outputs or {})
    ctx = StepContext(cwd=Path(cwd).resolve(), on_output=on_output, secrets={s for s in secrets if s})
    results: Outputs = {key: dict(value) for key, value in (outputs or {}).items()}
    total = len(calls)
    for index, call in enumerate(calls):
        name = canonical_step(call.name) or call.name
        where = describe(phase, index, total, name, call.id)
        implementation = IMPLEMENTATIONS.get(name)
        if implementation is None:
            raise StepError(f"{where}: unknown step {call.written_name!r}")
        inputs = render(dict(call.inputs), results, location(call))
        ctx.tail.clear()
        produced = call_step(implementation, ctx, where, name, inputs)
        unexpected = set(produced) - set(STEPS[name].outputs)
        if unexpected:  # an implementation bug, but one that would let a typo'd output silently resolve
            raise StepError(f"{where} returned undeclared outputs: {', '.join(sorted(unexpected))}")
        if call.id:
            results[call.id] = produced
    return results


def templating_render(context: TemplateContext) -> Render:
    """A `render` for run_steps that renders inputs with `context`, its `steps` namespace being the outputs so far.

    Imports templating (and so jinja2) only when called: the engine never calls this.
    """
    from deploytool.templating import render_tree

    def render(inputs: dict[str, Any], outputs: Mapping[str, Mapping[str, Any]], path: str) -> dict[str, Any]:
        ctx = replace(context, steps={**context.steps, **outputs})
        rendered = render_tree(inputs, ctx, path)
        assert isinstance(rendered, dict)
        return rendered

    return render


def _check_ids(calls: Sequence[StepCall], phase: str, seeded: Mapping[str, Any]) -> None:
    # Validation reports duplicate ids with positions; this guards callers that skip validation, because a
    # repeated id would silently replace an earlier step's outputs.
    seen = set(seeded)
    for index, call in enumerate(calls):
        if call.id and call.id in seen:
            where = describe(phase, index, len(calls), call.name, call.id)
            raise StepError(f"{where}: step id {call.id!r} is already used", "step ids must be unique")
        if call.id:
            seen.add(call.id)


def location(call: StepCall) -> str:
    parts = ""
    for part in call.path:
        parts += f"[{part}]" if isinstance(part, int) else (f".{part}" if parts else str(part))
    return f"{parts}.{call.written_name}" if parts else call.written_name
