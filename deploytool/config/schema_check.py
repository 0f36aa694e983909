"""Validate a loaded project file against schemas/deploy.schema.json and word each error for a person.

jsonschema's own messages ("... is not valid under any of the given schemas") say neither where nor what to
do. Here each error is followed down the branch of an anyOf that matches the value's type, so the report names
the innermost key that is wrong, and unknown keys come with a did-you-mean.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator

from deploytool.config.keypath import format_path
from deploytool.errors import ConfigIssue, close_matches, did_you_mean
from deploytool.pkgfiles import files
from deploytool.steps.registry import unknown_step_message

TYPE_CHECKING = False  # not typing's: `import typing` costs every command a few ms
if TYPE_CHECKING:
    from typing import Any

    from jsonschema import ValidationError

    from deploytool.config.yamlload import Path, Positions  # types only: `deploytool schema` needs no yaml

SCHEMA_FILE = "deploy.schema.json"

# Where Prefect's models say extra="ignore": an unknown key there is only a warning in a prefect.yaml.
_PREFECT_IGNORES = ((), ("deployments", int), ("deployments", int, "work_pool"))


@functools.cache
def schema_text() -> str:
    return files("deploytool").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")


@functools.cache
def project_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@functools.cache
def _validator() -> Any:
    # schema_lite evaluates the keywords this schema uses the way jsonschema does, without jsonschema's ~100 ms
    # import; tests/config/test_schema_lite.py holds the two to the same result.
    from deploytool.config.schema_lite import Validator

    return Validator(project_schema())


def reference_validator() -> Any:
    """jsonschema's validator for the same schema: the reference that schema_lite is tested against."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(project_schema())


def check_schema(
    data: Any, positions: Positions, filename: str, *, prefect_compat: bool, validator: Any = None
) -> list[ConfigIssue]:
    """Every schema error in `data`, as issues at their positions.

    With `prefect_compat` (a file named prefect.yaml), unknown keys where Prefect silently ignores them are
    warnings instead of errors.
    """
    issues: list[ConfigIssue] = []
    for error in (validator or _validator()).iter_errors(data):
        for leaf in _leaves(error):
            issues.extend(_to_issues(leaf, data, positions, filename, prefect_compat))
    return issues


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """Follow anyOf/oneOf into the branch that fits the value's type; yield the most specific errors."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
        fitting = [
            subs
            for index, subs in sorted(branches.items())
            if not _is_placeholder_branch(error, index)
            and not any(s.validator == "type" and not s.relative_path for s in subs)
        ]
        if len(fitting) == 1:
            for sub in fitting[0]:
                yield from _leaves(sub)
            return
    yield error


def _is_placeholder_branch(error: ValidationError, index: int) -> bool:
    branch = error.validator_value[index] if isinstance(error.validator_value, list) else {}
    ref = branch.get("$ref", "") if isinstance(branch, dict) else ""
    return bool(ref.endswith("/placeholder")) and not (isinstance(error.instance, str) and "{{" in error.instance)


def _to_issues(
    error: ValidationError, data: Any, positions: Positions, filename: str, prefect_compat: bool
) -> Iterator[ConfigIssue]:
    path: Path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = schema.get("x-deploytool-kind")

    def issue(message: str, hint: str | None = None, *, at: Path = path, key: bool = False) -> ConfigIssue:
        line, col = positions.locate(at, key=key)
        return ConfigIssue(filename, line, col, format_path(data, at), message, hint)

    validator = error.validator
    instance = error.instance
    expected: Any = error.validator_value
    if validator == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        for extra in sorted((k for k in instance if k not in known), key=str):
            at = (*path, extra)
            if kind == "step":
                if extra == "id" and len(instance) > 1:
                    continue  # reported as "exactly one key" with the hint to move the id
                message, hint = unknown_step_message(str(extra))
                yield issue(message, hint, at=at, key=True)
                continue
            mean = did_you_mean(extra, known) or f"valid keys: {', '.join(known)}."
            if prefect_compat and _prefect_ignores(path):
                found = issue(
                    f"unknown key {extra!r} is ignored (Prefect ignores it too)",
                    f"{mean} --strict makes this an error",
                    at=at,
                    key=True,
                )
                yield _as_warning(found)
            else:
                yield issue(f"unknown key {extra!r}", mean, at=at, key=True)
    elif validator == "maxProperties" and kind == "step" and isinstance(instance, dict):
        names = ", ".join(repr(k) for k in instance)
        yield issue(
            f"a step is a mapping with exactly one key, the step's name; found {len(instance)}: {names}",
            "indent the step's inputs (and its id) under its name: `- git_clone: {id: clone, repository: ...}`",
        )
    elif validator == "minProperties" and kind == "step":
        yield issue("empty step", "a step is `- step_name: {inputs}`; remove the empty item")
    elif validator == "required":
        present = set(instance) if isinstance(instance, dict) else set()
        for name in expected:
            if name in present:
                continue
            typo = _typo_of(name, present, schema)
            if typo is None:
                yield issue(f"missing required key {name!r}")
            elif prefect_compat and _prefect_ignores(path):
                # the unknown key itself is only a warning here: the error says what is missing because of it
                yield issue(
                    f"unknown key {typo!r}: did you mean {name!r}?", f"{name!r} is required", at=(*path, typo), key=True
                )
    elif validator == "oneOf" and kind == "schedule":
        keys = [k for k in ("cron", "interval", "rrule") if isinstance(instance, dict) and k in instance]
        detail = f"found {', '.join(keys)}" if keys else "found none"
        yield issue(
            "a schedule needs exactly one of cron, interval or rrule",
            f"{detail}; use one schedule item for each",
        )
    elif validator in ("type", "anyOf", "oneOf"):
        wanted = _expected(error)
        quote = "put the value in quotes so YAML keeps it as text"
        quote_hint = quote if isinstance(instance, int | float | bool) and "a string" in wanted else None
        yield issue(f"expected {wanted}, got {_describe(instance)}", quote_hint)
    elif validator == "enum":
        options = ", ".join(str(v) for v in expected)
        yield issue(f"{_describe(instance)} is not allowed", f"use one of: {options}")
    elif validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "exclusiveMinimum": "greater than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }
        yield issue(f"must be {words[str(validator)]} {expected}, got {instance!r}")
    elif validator == "minLength":
        yield issue("must not be empty")
    elif validator == "pattern" and path and path[-1] == "id":
        yield issue(
            f"step id {instance!r} is not a valid name",
            "start with a letter or '_' and use only letters, digits, '_' and '-'",
        )
    else:
        yield issue(error.message)


def _typo_of(name: str, present: set[Any], schema: dict[str, Any]) -> str | None:
    """An unknown key in `present` that looks like a typo of the missing `name`: its did-you-mean is the one
    error to show, not also "missing required key"."""
    known = set(schema.get("properties", {}))
    unknown = sorted(str(k) for k in present if k not in known)
    return next((k for k in unknown if close_matches(k, [name])), None)


def _as_warning(issue: ConfigIssue) -> ConfigIssue:
    return ConfigIssue(issue.file, issue.line, issue.column, issue.path, issue.message, issue.hint, severity="warning")


def _prefect_ignores(path: Path) -> bool:
    for pattern in _PREFECT_IGNORES:
        if len(pattern) == len(path) and all(
            (isinstance(p, int) if want is int else p == want) for want, p in zip(pattern, path, strict=True)
        ):
            return True
    return False


_TYPE_WORDS = {
    "array": "a list",
    "object": "a mapping",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing (null)",
}


def _expected(error: ValidationError) -> str:
    words: list[str] = []
    schemas = error.validator_value if error.validator in ("anyOf", "oneOf") else [error.schema]
    for sub in schemas if isinstance(schemas, list) else []:
        for word in _schema_words(sub):
            if word not in words:
                words.append(word)
    if not words:
        return "a different value"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + ", or " + words[-1]


def _schema_words(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        if name == "placeholder":
            return ["a {{ placeholder }}"]
        if name in ("step", "schedule", "work_pool", "deployment"):
            return [f"a {name.replace('_', ' ')} mapping"]
        if name == "steps":
            return ["a step", "a list of steps", "nothing (null)"]
        if name == "concurrency_limit":
            return ["an integer", "a mapping with limit and collision_strategy"]
        return [f"a {name}"]
    if schema.get("maxProperties") == 0:
        return ["{} (nothing)"]
    types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    return [_TYPE_WORDS.get(t, t) for t in types or []]


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
