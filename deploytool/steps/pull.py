"""Running a deployment's pull steps inside the flow-run job, before the flow is loaded (used by the engine).

Stdlib only. The pull steps arrive as stored: `[{"name": ..., "id": ..., "inputs": {...}}]`. By then every
placeholder has been resolved (env and variables at deploy time, blocks by the worker at launch) except
references to the outputs of earlier pull steps, which only exist now: `{{ <id>.<key> }}` (with `.key` and
`[index]` selectors) is substituted here by a small regex, keeping the value's type when the string is exactly
one placeholder, as templating does. `{{ '{{' }}` (templating's escape for a literal `{{`) becomes `{{`. Any
other placeholder is an error: it means the worker did not resolve something it should have.

The result holds the outputs by id and the final working directory: the last `directory` any step output
(git_clone, set_working_directory), else the starting directory. The engine changes into it before importing
the flow; the steps themselves never change the process's directory.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from deploytool.errors import StepError
from deploytool.records import record
from deploytool.steps.base import OutputSink, StepContext, call_step, describe
from deploytool.steps.builtins import IMPLEMENTATIONS
from deploytool.steps.registry import canonical_step

# Compiled on first use (functools.cache): most pull steps hold no `{{ id.key }}` reference at all.
_PLACEHOLDER = r"\{\{(.*?)\}\}"
_REFERENCE = r"^([A-Za-z_][\w-]*)((?:\.[\w-]+|\[\d+\])+)$"
_SELECTOR = r"\.([\w-]+)|\[(\d+)\]"
_NAMESPACES = frozenset({"prefect", "env", "variables", "flow_run", "deployment", "ctx"})  # never step ids here
_LITERALS = {"'{{'": "{{", '"{{"': "{{", "'}}'": "}}", '"}}"': "}}"}


@record
class PullResult:
    """What the pull steps produced: outputs by step id, and the directory the flow should run in."""

    outputs: dict[str, dict[str, Any]]
    directory: Path


def run_pull_steps(
    steps: list[dict[str, Any]],
    cwd: Path | str,
    *,
    on_output: OutputSink | None = None,
    secrets: Iterable[str] = (),
) -> PullResult:
    """Run stored pull steps in order, from `cwd`; stop at the first failure with a StepError.

    Output lines go to `on_output`, by default to this process's stdout/stderr, which the worker streams into
    the run's logs (so a failing `pip install` is visible in `deploytool flow-run logs`, Prefect #18487).
    """
    ctx = StepContext(cwd=Path(cwd).resolve(), on_output=on_output or _print, secrets={s for s in secrets if s})
    outputs: dict[str, dict[str, Any]] = {}
    directory = ctx.cwd
    total = len(steps)
    for index, step in enumerate(steps):
        written = str(step.get("name", ""))
        step_id = step.get("id")
        name = canonical_step(written) or written
        where = describe("pull", index, total, name, step_id)
        implementation = IMPLEMENTATIONS.get(name)
        if implementation is None:
            raise StepError(f"{where}: unknown step {written!r}")
        inputs = substitute(step.get("inputs") or {}, outputs, where)
        ctx.tail.clear()
        produced = call_step(implementation, ctx, where, name, inputs)
        if step_id:
            outputs[str(step_id)] = produced
        if isinstance(produced.get("directory"), str):
            directory = ctx.resolve(produced["directory"])
    return PullResult(outputs, directory)


def substitute(value: Any, outputs: Mapping[str, Mapping[str, Any]], where: str) -> Any:
    """`value` with `{{ id.key }}` references to `outputs` replaced (recursively in lists and mappings)."""
    if isinstance(value, str):
        return _substitute_str(value, outputs, where)
    if isinstance(value, Mapping):
        return {k: substitute(v, outputs, where) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, outputs, where) for v in value]
    return value


def _substitute_str(text: str, outputs: Mapping[str, Mapping[str, Any]], where: str) -> Any:
    if "{{" not in text:
        return text
    whole = _re(_PLACEHOLDER).fullmatch(text.strip())
    if whole and whole.group(1).strip() not in _LITERALS:
        return _lookup(whole.group(1).strip(), outputs, where)

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        if expression in _LITERALS:
            return _LITERALS[expression]
        found = _lookup(expression, outputs, where)
        # Containers inside text become JSON, as templating renders them.
        return json.dumps(found, default=str) if isinstance(found, Mapping | list | tuple) else str(found)

    return _re(_PLACEHOLDER).sub(replace, text)


def _lookup(expression: str, outputs: Mapping[str, Mapping[str, Any]], where: str) -> Any:
    match = _re(_REFERENCE).match(expression)
    if match is None or match.group(1) in _NAMESPACES:
        raise StepError(
            f"{where}: placeholder {{{{ {expression} }}}} cannot be resolved at run time",
            "in pull steps the job resolves only {{ <pull step id>.<output> }}; "
            "other references are resolved at deploy time or by the worker",
        )
    step_id, selectors = match.group(1), match.group(2)
    if step_id not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise StepError(
            f"{where}: {{{{ {expression} }}}} refers to no earlier pull step with id {step_id!r}",
            f"ids of earlier pull steps: {known}",
        )
    value: Any = outputs[step_id]
    for key, position in _re(_SELECTOR).findall(selectors):
        try:
            value = value[int(position)] if position else value[key]
        except (KeyError, IndexError, TypeError):
            raise StepError(f"{where}: {{{{ {expression} }}}}: {step_id!r} has no {key or position!r}") from None
    return value


@functools.cache
def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def _print(stream: str, line: str) -> None:
    target = sys.stderr if stream == "stderr" else sys.stdout
    print(line, file=target, flush=True)
