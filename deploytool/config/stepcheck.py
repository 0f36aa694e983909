"""Checks of steps and placeholders: step ids, the step outputs a placeholder uses, unknown names and filters,
what the sandbox or the git_clone step would refuse. Found from the text, without jinja2 (which validate does not
import)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from deploytool.config.project import StepCall
from deploytool.config.report import Reporter
from deploytool.config.yamlload import Path
from deploytool.errors import close_matches, did_you_mean
from deploytool.steps.git import static_problems as git_static_problems
from deploytool.steps.registry import STEPS
from deploytool.templating.context import FILTERS, UNSAFE, UNSAFE_HINT, Unresolvable
from deploytool.templating.parse import looks_unsafe, split_segments

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

NAMESPACES = ("env", "variables", "prefect", "flow_run", "deployment", "ctx")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_REF = re.compile(r"\s*([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?")


def check_step_ids(report: Reporter, calls: list[StepCall], seen: dict[str, Path]) -> None:
    for call in calls:
        if not call.id:
            continue
        id_path = (*call.path, call.written_name, "id")
        if call.id in seen:
            line = report.positions.locate(seen[call.id])[0]
            report.error(id_path, f"step id {call.id!r} is used twice (first at line {line})", "step ids are unique")
        else:
            seen[call.id] = id_path


def check_step_refs(
    report: Reporter,
    build: list[StepCall],
    push: list[StepCall],
    pull: list[StepCall],
    own_only: dict[str, Any] | None = None,
) -> None:
    """A step may use the outputs of the steps before it (build, then push, then pull)."""
    available: dict[str, StepCall] = {}
    for action, calls in (("build", build), ("push", push), ("pull", pull)):
        for call in calls:
            if own_only is None or action in own_only:
                check_refs_in(report, call.inputs, (*call.path, call.written_name), available)
                if call.name == "git_clone":
                    _check_git_clone(report, call)
            if call.id:
                available[call.id] = call


def _check_git_clone(report: Reporter, call: StepCall) -> None:
    """What the git_clone step refuses at run time (an option-like repository, a transport, a token over http,
    a bad branch or commit), reported now at the input's line."""
    for name, message, hint in git_static_problems(call.inputs):
        at = (*call.path, call.written_name, name) if name in call.inputs else (*call.path, call.written_name)
        report.error(at, f"git_clone would refuse this: {message}", hint)


def check_refs_in(report: Reporter, value: Any, path: Path, steps: dict[str, StepCall]) -> None:
    for at, text in _strings(value, path):
        try:  # what `deploytool deploy` would refuse, found without jinja2 (which validate does not import)
            segments = split_segments(text)
        except Unresolvable as exc:
            report.error(at, f"{exc.reason} in {text!r}", exc.hint)
            continue
        for segment in segments:
            if not isinstance(segment, str) and not segment.expr.strip():
                report.error(at, f"empty placeholder in {text!r}", "write an expression between {{ and }}")
            elif not isinstance(segment, str) and looks_unsafe(segment.expr):
                report.error(at, f"{UNSAFE} in {segment.raw}", UNSAFE_HINT)
        for match in _PLACEHOLDER.finditer(text):
            if looks_unsafe(match.group(1)):
                continue  # reported above, once
            problem = _ref_problem(match.group(1), steps) or _filter_problem(match.group(1))
            if problem:
                report.error(at, *problem)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_FILTER = re.compile(r"\|\s*([A-Za-z_]\w*)")


def _filter_problem(expression: str) -> tuple[str, str] | None:
    """A filter jinja2 does not have (`{{ $X | uper }}`), found without importing jinja2."""
    for name in _FILTER.findall(_QUOTED.sub("''", expression)):
        if name not in FILTERS:
            mean = f"{close} " if (close := did_you_mean(name, sorted(FILTERS))) else ""
            return f"unknown filter {name!r} in {{{{ {expression.strip()} }}}}", f"{mean}see docs/templating.md"
    return None


def _ref_problem(expression: str, steps: dict[str, StepCall]) -> tuple[str, str] | None:
    expression = expression.strip()
    if expression.startswith("$"):
        return None
    match = _REF.match(expression)
    if not match:
        return None  # a literal or an expression without a name: jinja's business
    first, second = match.group(1), match.group(2)
    if first in NAMESPACES:
        if first == "prefect" and second not in ("variables", "blocks"):
            return (
                f"unknown placeholder {{{{ {expression} }}}}",
                "Prefect's namespaces are prefect.variables.NAME and prefect.blocks.TYPE.NAME",
            )
        return None
    if first in steps:
        outputs = STEPS[steps[first].name].outputs
        if second is not None and second not in outputs:
            close = close_matches(second, outputs)
            mean = f"did you mean {first}.{close[0]}? " if close else ""
            return (
                f"step {first!r} ({steps[first].name}) has no output {second!r}",
                f"{mean}its outputs are {', '.join(outputs)}",
            )
        return None
    candidates = list(steps) + list(NAMESPACES)
    mean = f"{hint} " if (hint := did_you_mean(first, candidates)) else ""
    if first.isupper():
        mean = f"for the environment variable write {{{{ ${first} }}}}; "
    known_ids = ", ".join(steps) if steps else "none"
    return (
        f"{{{{ {expression} }}}} refers to {first!r}, which is neither an earlier step's id nor a known namespace",
        f"{mean}step ids before this point: {known_ids}; namespaces: $NAME, env, prefect.variables, "
        "prefect.blocks, variables, flow_run, deployment, ctx",
    )


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        if "{{" in value:
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))
