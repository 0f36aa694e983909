"""A small JSON Schema (2020-12) validator for the keywords deploy.schema.json uses, with jsonschema's errors.

Why: importing the jsonschema package costs about 100 ms (referencing, attrs, every meta-schema), which is a
third of `deploytool validate`. The project schema uses a dozen keywords; this module evaluates exactly those,
the way jsonschema does, and yields errors with the attributes schema_check reads (validator, validator_value,
instance, schema, absolute_path, relative_path, relative_schema_path, context, message). jsonschema stays the
reference: tests check that both give the same issues for the corpus, the golden files and random documents,
and `SUPPORTED` is checked against the schema, so a keyword added to the schema cannot be silently ignored.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from functools import cache

from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

# Keywords that validate, and keywords that only annotate.
SUPPORTED = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "minimum",
        "maximum",
        "minLength",
        "pattern",
        "minProperties",
        "maxProperties",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "anyOf",
        "oneOf",
    }
)
# jsonschema validates `format` only with a format checker, which deploytool never gives it: an annotation too.
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples", "format"}
    | {"readOnly", "writeOnly", "deprecated"}
)


@record(frozen=False)
class SchemaError:
    validator: str
    validator_value: Any
    instance: Any
    schema: Mapping[str, Any]
    message: str
    path: tuple[str | int, ...] = ()  # of the instance, from the document's root
    relative_schema_path: deque[str | int] = field(default_factory=deque)
    context: list[SchemaError] = field(default_factory=list)
    relative_path: deque[str | int] = field(default_factory=deque)  # from the enclosing anyOf/oneOf's instance

    @property
    def absolute_path(self) -> deque[str | int]:
        return deque(self.path)


class UnsupportedSchemaError(Exception):
    """The schema uses a keyword this validator does not evaluate."""


def unsupported_keywords(schema: Any) -> set[str]:
    """Keywords in `schema` that are neither evaluated here nor annotations (x- extensions are annotations)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key not in SUPPORTED and key not in ANNOTATIONS and not key.startswith("x-"):
                    found.add(key)
                if key in ("properties", "$defs"):
                    for sub in value.values():
                        walk(sub)
                elif key in ("items", "additionalProperties"):
                    walk(value)
                elif key in ("anyOf", "oneOf"):
                    for sub in value:
                        walk(sub)

    walk(schema)
    return found


class Validator:
    def __init__(self, schema: Mapping[str, Any]) -> None:
        unknown = unsupported_keywords(schema)
        if unknown:
            raise UnsupportedSchemaError(f"keywords not supported by schema_lite: {', '.join(sorted(unknown))}")
        self.root = schema

    def iter_errors(self, instance: Any) -> Iterator[SchemaError]:
        for error in self._errors(instance, self.root, ()):
            error.relative_path = deque(error.path)
            yield error

    def _errors(self, instance: Any, schema: Mapping[str, Any], path: tuple[str | int, ...]) -> Iterator[SchemaError]:
        for keyword, value in schema.items():
            check = _CHECKS.get(keyword)
            if check is None:
                continue
            for error in check(self, instance, value, schema, path):
                if keyword != "$ref":
                    error.relative_schema_path.appendleft(keyword)
                yield error

    def resolve(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#/"):
            raise UnsupportedSchemaError(f"only local references are supported, not {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        result: Mapping[str, Any] = node
        return result

    def is_valid(self, instance: Any, schema: Mapping[str, Any], path: tuple[str | int, ...]) -> bool:
        return next(iter(self._errors(instance, schema, path)), None) is None


def _error(keyword: str, value: Any, instance: Any, schema: Mapping[str, Any], message: str, path: Any) -> SchemaError:
    return SchemaError(keyword, value, instance, schema, message, path=path)


def _is_type(instance: Any, name: str) -> bool:
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if isinstance(instance, bool):
        return False
    if name == "integer":
        return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    if name == "number":
        return isinstance(instance, int | float)
    return False


def _type(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    names = [value] if isinstance(value, str) else list(value)
    if not any(_is_type(instance, n) for n in names):
        yield _error("type", value, instance, schema, f"{instance!r} is not of type {value!r}", path)


def _enum(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if not any(_equal(instance, option) for option in value):
        yield _error("enum", value, instance, schema, f"{instance!r} is not one of {value!r}", path)


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's equality: a boolean equals only a boolean, inside lists and objects too."""
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[key], b[key]) for key in a)
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else bool(a == b)


def _minimum(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if _is_type(instance, "number") and instance < value:
        yield _error("minimum", value, instance, schema, f"{instance!r} is less than the minimum of {value!r}", path)


def _maximum(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if _is_type(instance, "number") and instance > value:
        message = f"{instance!r} is greater than the maximum of {value!r}"
        yield _error("maximum", value, instance, schema, message, path)


def _min_length(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if isinstance(instance, str) and len(instance) < value:
        yield _error("minLength", value, instance, schema, f"{instance!r} is too short", path)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _pattern(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if isinstance(instance, str) and not _regex(value).search(instance):
        yield _error("pattern", value, instance, schema, f"{instance!r} does not match {value!r}", path)


def _min_properties(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if isinstance(instance, dict) and len(instance) < value:
        yield _error("minProperties", value, instance, schema, f"{instance!r} should be non-empty", path)


def _max_properties(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if isinstance(instance, dict) and len(instance) > value:
        yield _error("maxProperties", value, instance, schema, f"{instance!r} has too many properties", path)


def _required(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if isinstance(instance, dict):
        for name in value:
            if name not in instance:
                yield _error("required", value, instance, schema, f"{name!r} is a required property", path)


def _properties(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if not isinstance(instance, dict):
        return
    for name, subschema in value.items():
        if name in instance:
            for error in v._errors(instance[name], subschema, (*path, name)):
                error.relative_schema_path.appendleft(name)
                yield error


def _additional(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if not isinstance(instance, dict):
        return
    extras = [k for k in instance if k not in schema.get("properties", {})]
    if value is False:
        if extras:
            names = ", ".join(repr(k) for k in extras)
            yield _error("additionalProperties", value, instance, schema, f"unexpected: {names}", path)
        return
    if isinstance(value, Mapping):
        for name in extras:
            yield from v._errors(instance[name], value, (*path, name))


def _items(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    if not isinstance(instance, list):
        return
    for index, item in enumerate(instance):
        yield from v._errors(item, value, (*path, index))


def _branches(v: Validator, instance: Any, value: Any, path: Any) -> tuple[int, list[SchemaError]]:
    valid = 0
    context: list[SchemaError] = []
    for index, subschema in enumerate(value):
        errors = list(v._errors(instance, subschema, path))
        if not errors:
            valid += 1
        for error in errors:
            error.relative_schema_path.appendleft(index)
            error.relative_path = deque(error.path[len(path) :])
        context.extend(errors)
    return valid, context


def _any_of(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    valid, context = _branches(v, instance, value, path)
    if not valid:
        error = _error(
            "anyOf", value, instance, schema, f"{instance!r} is not valid under any of the given schemas", path
        )
        error.context = context
        yield error


def _one_of(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    valid, context = _branches(v, instance, value, path)
    if valid == 0:
        error = _error(
            "oneOf", value, instance, schema, f"{instance!r} is not valid under any of the given schemas", path
        )
        error.context = context
        yield error
    elif valid > 1:
        yield _error("oneOf", value, instance, schema, f"{instance!r} is valid under each of several schemas", path)


def _ref(v: Validator, instance: Any, value: Any, schema: Any, path: Any) -> Iterator[SchemaError]:
    yield from v._errors(instance, v.resolve(value), path)


_CHECKS = {
    "$ref": _ref,
    "type": _type,
    "enum": _enum,
    "minimum": _minimum,
    "maximum": _maximum,
    "minLength": _min_length,
    "pattern": _pattern,
    "minProperties": _min_properties,
    "maxProperties": _max_properties,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional,
    "items": _items,
    "anyOf": _any_of,
    "oneOf": _one_of,
}
