"""The run form: one typed input per parameter of a deployment's parameter schema, and the submitted form back
to the values `deploytool run --param NAME=VALUE` would give (the same parsing, the same validation).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deploytool.core.values import parse_value

FIELD_PREFIX = "param."


@dataclass(frozen=True)
class Field:
    """One input of the run form."""

    name: str
    kind: str  # "text", "integer", "number", "boolean", "select", "json", "date", "datetime-local"
    label: str
    description: str | None
    required: bool
    value: str  # the current text of the input ("" when unset)
    choices: list[str] = field(default_factory=list)
    type_text: str = ""

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name

    @property
    def input_id(self) -> str:
        return "param-" + "".join(c if c.isalnum() else "-" for c in self.name)


def _kind(schema: Mapping[str, Any]) -> tuple[str, list[str]]:
    if "enum" in schema and all(isinstance(v, str | int | float | bool) for v in schema["enum"]):
        return "select", [_text(v) for v in schema["enum"]]
    kind = schema.get("type")
    if kind == "string":
        return "text", []
    if kind == "integer":
        return "integer", []
    if kind == "number":
        return "number", []
    if kind == "boolean":
        return "boolean", ["true", "false"]
    return "json", []


def _type_text(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind + (f" ({schema['format']})" if "format" in schema else "")
    if "anyOf" in schema:
        return " or ".join(_type_text(s) for s in schema["anyOf"] if isinstance(s, Mapping)) or "any JSON value"
    return "any JSON value"


def _text(value: Any) -> str:
    """How a value shows in an input: a string as itself, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def fields(
    schema: Mapping[str, Any], defaults: Mapping[str, Any], submitted: Mapping[str, str] | None = None
) -> list[Field]:
    """The form's inputs in the schema's order, filled with the submitted text, else the deployment's value,
    else the schema's default. A parameter is required when the schema requires it and nothing fills it."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    rows = []
    for name, prop in properties.items():
        prop = prop if isinstance(prop, Mapping) else {}
        kind, choices = _kind(prop)
        known = name in defaults or "default" in prop
        value = defaults[name] if name in defaults else prop.get("default")
        text = submitted.get(name, "") if submitted is not None else _text(value) if known else ""
        rows.append(
            Field(
                name=name,
                kind=kind,
                label=str(prop.get("title") or name),
                description=prop.get("description"),
                required=name in required and not known,
                value=text,
                choices=choices,
                type_text=_type_text(prop),
            )
        )
    return rows


def submitted_parameters(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's parameter inputs -> (values, raw texts), as `--param NAME=TEXT` gives them: TEXT as JSON when
    it parses, else the text. An empty input is left out (the deployment's value or default applies)."""
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for key, text in form.items():
        if not key.startswith(FIELD_PREFIX) or text == "":
            continue
        name = key[len(FIELD_PREFIX) :]
        values[name] = parse_value(text)
        texts[name] = text
    return values, texts


def raw_inputs(form: Mapping[str, str]) -> dict[str, str]:
    """The submitted text of each parameter input, by parameter name (to show the form again)."""
    return {key[len(FIELD_PREFIX) :]: text for key, text in form.items() if key.startswith(FIELD_PREFIX)}
