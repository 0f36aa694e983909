"""Parsing KEY=VALUE options: a value is JSON when it parses as JSON, else a string."""

from __future__ import annotations

import json
from typing import Any

from deploytool.errors import DeploytoolError


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_assignments(items: list[str], option: str) -> dict[str, Any]:
    """`["a=1", "b=x"]` -> {"a": 1, "b": "x"}; a JSON object is merged whole."""
    values: dict[str, Any] = {}
    for item in items:
        stripped = item.strip()
        if stripped.startswith("{"):
            parsed = parse_value(stripped)
            if not isinstance(parsed, dict):
                raise DeploytoolError(f"{option} {item!r}: not a JSON object", f"use {option} KEY=VALUE")
            values.update(parsed)
            continue
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise DeploytoolError(f"{option} {item!r}: expected KEY=VALUE", f"for example {option} retries=3")
        values[key.strip()] = parse_value(raw)
    return values
