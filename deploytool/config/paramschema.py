"""Parameter types as JSON schema: from annotation source text, and back to checks and words.

`annotation_schema` reads an annotation from the syntax tree (never evaluating it) and gives the JSON schema
pydantic would give for it, where that is cheap: builtins, typing generics, unions, Literal, dates. A type it
does not know (a user's class, a pydantic model) becomes `{}`, i.e. any value, exactly as Prefect does when a
type cannot be resolved. `mismatch` checks a value against such a schema; `describe` says it in words.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from datetime import date, datetime, time

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

_SCALARS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "None": {"type": "null"},
    "NoneType": {"type": "null"},
    "list": {"type": "array"},
    "List": {"type": "array"},
    "Sequence": {"type": "array"},
    "tuple": {"type": "array"},
    "Tuple": {"type": "array"},
    "set": {"type": "array", "uniqueItems": True},
    "Set": {"type": "array", "uniqueItems": True},
    "frozenset": {"type": "array", "uniqueItems": True},
    "dict": {"type": "object"},
    "Dict": {"type": "object"},
    "Mapping": {"type": "object"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "UUID": {"type": "string", "format": "uuid"},
    "Path": {"type": "string", "format": "path"},
}
_ARRAYS = {"list", "List", "Sequence", "Iterable", "Collection", "set", "Set", "frozenset", "FrozenSet"}
_OBJECTS = {"dict", "Dict", "Mapping", "MutableMapping"}
_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


def _name(node: ast.expr) -> str | None:
    # `List`, `typing.List`, `t.List`, `datetime.datetime`: the last part is what is recognised.
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def annotation_schema(node: ast.expr) -> dict[str, Any]:
    """The JSON schema of an annotation given as an expression tree ({} when the type is unknown)."""
    if isinstance(node, ast.Constant):
        if node.value is None:
            return {"type": "null"}
        if isinstance(node.value, str):  # a string annotation: "int", "list[str]"
            try:
                return annotation_schema(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return {}
        return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Subscript):
        return _generic(node)
    name = _name(node)
    return dict(_SCALARS.get(name, {})) if name else {}


def _args(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def _generic(node: ast.Subscript) -> dict[str, Any]:
    base = _name(node.value)
    args = _args(node)
    if base == "Optional":
        return _union([*args, ast.Constant(None)])
    if base == "Union":
        return _union(args)
    if base == "Annotated":
        return annotation_schema(args[0])
    if base == "Literal":
        return _literal(args)
    if base in _ARRAYS:
        schema = dict(_SCALARS.get(base, {"type": "array"}))
        items = annotation_schema(args[0])
        return {**schema, "items": items} if items else schema
    if base in ("tuple", "Tuple"):
        if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
            items = annotation_schema(args[0])
            return {"type": "array", "items": items} if items else {"type": "array"}
        prefix = [annotation_schema(a) for a in args]
        return {"type": "array", "prefixItems": prefix, "minItems": len(prefix), "maxItems": len(prefix)}
    if base in _OBJECTS:
        values = annotation_schema(args[1]) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}
    return {}


def _literal(args: list[ast.expr]) -> dict[str, Any]:
    values: list[Any] = []
    for arg in args:
        try:
            values.append(ast.literal_eval(arg))
        except (ValueError, TypeError, SyntaxError):
            return {}  # Literal[SOME_CONSTANT]: the values are not in this file
    types = {_JSON_TYPES.get(type(v)) for v in values}
    schema: dict[str, Any] = {"enum": values}
    if len(types) == 1 and None not in types:
        schema["type"] = types.pop()
    return schema


def _union(args: list[ast.expr]) -> dict[str, Any]:
    members: list[dict[str, Any]] = []
    for arg in args:
        schema = annotation_schema(arg)
        if not schema:
            return {}  # one member may be anything, so the union may be anything
        for member in schema.get("anyOf", [schema]) if set(schema) == {"anyOf"} else [schema]:
            if member not in members:
                members.append(member)
    return members[0] if len(members) == 1 else {"anyOf": members}


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
