"""Parameter types as JSON schema: from annotation source text, and back to checks and words.

`annotation_schema` reads an annotation from the syntax tree (never evaluating it) and gives the JSON schema
pydantic would give for it, where that is cheap: builtins, typing generics, unions, Literal, dates. A type it
does not know (a user's class, a pydantic model) becomes `{}`, i.e. any value, exactly as Prefect does when a
type cannot be resolved. Checking values against such a schema, and saying it in words: config/paramcheck.py.
"""

from __future__ import annotations

import ast

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
