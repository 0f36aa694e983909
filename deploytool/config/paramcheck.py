"""Parameter values against a flow's parameter schema: what `run`, `validate`, `deploy` and the scheduler check.

Without jsonschema, and without the syntax tree that makes the schema from a flow's annotations
(config/paramschema.py, config/flowscan.py): `deploytool run` checks its parameters with this module alone
(issue 17, item 4). `mismatch` checks a value against a schema; `describe` says a schema in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time

from deploytool.errors import did_you_mean
from deploytool.records import record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


@record
class ParamProblem:
    """One problem with a deployment's parameters; `name` is the parameter it is about."""

    name: str
    message: str
    hint: str | None = None


def check_parameters(
    schema: Mapping[str, Any], parameters: Mapping[str, Any], *, require_all: bool = False
) -> list[ParamProblem]:
    """Check parameter values against a parameter schema, without jsonschema (fast, and clearer messages).

    Reports unknown names (with a did-you-mean) unless the flow takes `**kwargs`, values of the wrong type,
    and — only when `require_all` says the values are complete — required parameters that are missing.
    Strings holding a placeholder (`{{ ... }}`) are resolved later and not type-checked.
    """
    properties: Mapping[str, Any] = schema.get("properties") or {}
    problems: list[ParamProblem] = []
    for name, value in parameters.items():
        if name not in properties:
            if schema.get("additionalProperties", True) is False:
                problems.append(ParamProblem(name, f"unknown parameter {name!r}", _known_hint(name, properties)))
            continue
        wrong = mismatch(value, properties[name])
        if wrong:
            problems.append(ParamProblem(name, f"parameter {name!r} {wrong}", _type_hint(value, properties[name])))
    if require_all:
        for name in schema.get("required") or ():
            if name not in parameters:
                problems.append(
                    ParamProblem(
                        name,
                        f"required parameter {name!r} has no value",
                        f"give it a value ({describe(properties.get(name, {}))}) under parameters",
                    )
                )
    return problems


def _known_hint(name: str, properties: Mapping[str, Any]) -> str:
    known = list(properties)
    if not known:
        return "the flow takes no parameters"
    listing = "the flow's parameters are: " + ", ".join(known)
    mean = did_you_mean(name, known)
    return f"{mean} {listing}" if mean else listing


def _type_hint(value: Any, prop: Mapping[str, Any]) -> str | None:
    # The common slip: a number or boolean written in quotes. Say how to write it instead.
    if isinstance(value, str):
        unquoted: Any = {"true": True, "false": False}.get(value.strip().lower(), value.strip())
        if isinstance(unquoted, str):
            try:
                unquoted = int(unquoted)
            except ValueError:
                try:
                    unquoted = float(unquoted)
                except ValueError:
                    return None
        if mismatch(unquoted, prop) is None:
            return f"write it without quotes: {str(unquoted).lower() if isinstance(unquoted, bool) else unquoted}"
    return None


def mismatch(value: Any, schema: Mapping[str, Any]) -> str | None:
    """Why `value` does not fit `schema` ("must be an integer, got 'abc' (a string)"), or None if it fits."""
    if _fits(value, schema):
        return None
    return f"must be {describe(schema)}, got {value!r} ({_kind(value)})"


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    if isinstance(value, str) and "{{" in value:
        return True  # a placeholder: its value is known only when it is resolved
    if "anyOf" in schema:
        return any(_fits(value, member) for member in schema["anyOf"])
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        return False
    kind = schema.get("type")
    if kind is None:
        return True
    if kind == "array":
        return _fits_array(value, schema)
    if kind == "object":
        if not isinstance(value, Mapping):
            return False
        values = schema.get("additionalProperties")
        return not isinstance(values, Mapping) or all(_fits(v, values) for v in value.values())
    if kind == "string":
        return _fits_string(value, schema.get("format"))
    if kind == "integer":
        # bool is an int in Python but not in JSON; 3.0 is an integer for JSON schema
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    return True


def _same(value: Any, option: Any) -> bool:
    # `True == 1` in Python; an enum of 1 must not accept true.
    return bool(value == option) and isinstance(value, bool) == isinstance(option, bool)


def _fits_array(value: Any, schema: Mapping[str, Any]) -> bool:
    if not isinstance(value, list | tuple):
        return False
    prefix = schema.get("prefixItems")
    if prefix is not None:
        return len(value) == len(prefix) and all(_fits(v, s) for v, s in zip(value, prefix, strict=True))
    items = schema.get("items")
    return not isinstance(items, Mapping) or all(_fits(v, items) for v in value)


def _fits_string(value: Any, fmt: str | None) -> bool:
    # YAML turns unquoted timestamps into datetime/date objects; those are fine for date formats.
    if fmt == "date-time" and isinstance(value, datetime):
        return True
    if fmt == "date" and isinstance(value, date) and not isinstance(value, datetime):
        return True
    if not isinstance(value, str):
        return False
    parser = {"date-time": datetime.fromisoformat, "date": date.fromisoformat, "time": time.fromisoformat}
    if fmt in parser:
        try:
            parser[fmt](value)
        except ValueError:
            return False
    return True


def describe(schema: Mapping[str, Any]) -> str:
    """A schema in words: "an integer", "a list of strings", "one of 'fast', 'slow'", "a string or null"."""
    if "anyOf" in schema:
        return " or ".join(describe(member) for member in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        if isinstance(items, Mapping) and items.get("type"):
            return f"a list of {_plural(describe(items))}"
        if "prefixItems" in schema:
            return f"a list of {len(schema['prefixItems'])} items"
        return "a list"
    if kind == "object":
        return "a mapping"
    if kind == "string" and schema.get("format") in ("date-time", "date", "time"):
        return {"date-time": "an ISO-8601 date and time", "date": "an ISO-8601 date", "time": "a time"}[
            schema["format"]
        ]
    words = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false"}
    return words.get(str(kind), "null" if kind == "null" else "any value")


def _plural(phrase: str) -> str:
    for article in ("an ", "a "):
        if phrase.startswith(article):
            return phrase[len(article) :] + "s"
    return phrase


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__
    )
