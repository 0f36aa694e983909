"""Parsing KEY=VALUE options: a value is JSON when it parses as JSON, else a string (core.values.parse_value)."""

from __future__ import annotations

from typing import Any

from deploytool.errors import DeploytoolError


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
