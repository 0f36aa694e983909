"""Parsing KEY=VALUE options and arguments: a value is JSON when it parses as JSON, else a string
(core.values.parse_value)."""

from __future__ import annotations

from deploytool.errors import DeploytoolError

TYPE_CHECKING = False  # not typing's: deploy_cmds imports this at the start of every deployment command
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any


def parse_assignments(items: list[str], option: str) -> dict[str, Any]:
    """`["a=1", "b=x"]` -> {"a": 1, "b": "x"}; a JSON object is merged whole. Errors name the option."""
    from deploytool.core.values import parse_value

    values: dict[str, Any] = {}
    for item in items:
        stripped = item.strip()
        if stripped.startswith("{"):
            parsed = parse_value(stripped, option)
            if not isinstance(parsed, dict):
                raise DeploytoolError(f"{option} {item!r}: not a JSON object", f"use {option} KEY=VALUE")
            values.update(parsed)
            continue
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise DeploytoolError(f"{option} {item!r}: expected KEY=VALUE", f"for example {option} retries=3")
        values[key.strip()] = parse_value(raw, f"{option} {key.strip()}")
    return values


def block_fields(pairs: Sequence[str], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`block set`'s `key=value` arguments over `base` (its --from-json object); each value JSON when it parses.
    Errors name the argument by its position, never its text (a value typed without its key may be a secret)."""
    from deploytool.core.values import parse_value

    data: dict[str, Any] = {}
    for number, pair in enumerate(pairs, start=1):
        key, eq, raw = pair.partition("=")
        key = key.strip()
        if not eq or not key:
            raise DeploytoolError(
                f"field argument {number} is not key=value ({'it has no key' if eq else 'it has no ='};"
                " not shown, in case it is a secret)",
                hint="for example token=abc123 or port=5432",
            )
        if key in data:
            raise DeploytoolError(f"field {key!r} is given twice", hint="give each field once")
        data[key] = parse_value(raw, f"field {key!r}")
    return {**(base or {}), **data}
