"""Which fields of a block are secret, and a block's public view: its data with those fields masked.

The rules are applied where a block is stored (the store keeps the public view in clear and the whole document
encrypted, `deploytool.secretbox`) and where one is shown (`core/values.py`), so both agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from deploytool.errors import DeploytoolError
from deploytool.redaction import Redactor

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

MASK = "********"
SECRET_BLOCK_TYPE = "secret"
# A field is secret by default when one of the words of its name is one of these.
SECRET_WORDS = frozenset({"password", "passwd", "pwd", "token", "secret", "key", "apikey", "credential", "credentials"})


def is_secret_name(key: str) -> bool:
    """True for a field whose name says it holds a secret (password, api_key, accessToken, ...)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()
    return any(word in SECRET_WORDS for word in re.split(r"[^a-z0-9]+", words))


def secret_paths(btype: str, data: Mapping[str, Any], explicit: Iterable[str] = ()) -> list[str]:
    """The fields of a block to keep secret: `explicit` ones, `value` of a `secret` block, and every field
    (at any depth, as a dotted path) whose name says it is secret. Explicit names must be fields."""
    paths: list[str] = []
    for key in explicit:
        if key not in data:
            known = ", ".join(data) or "none"
            raise DeploytoolError(f"--secret {key!r} names no field of the block", hint=f"its fields: {known}")
        paths.append(key)
    if btype == SECRET_BLOCK_TYPE and "value" in data:
        paths.append("value")

    def walk(obj: Mapping[str, Any], prefix: str) -> None:
        for key, value in obj.items():
            path = f"{prefix}{key}"
            if is_secret_name(str(key)):
                paths.append(path)
            elif isinstance(value, Mapping):
                walk(value, path + ".")
            elif isinstance(value, list) and _names_a_secret(value):
                paths.append(path)  # paths do not index lists: the whole list is secret

    walk(data, "")
    return sorted(set(paths))


def _names_a_secret(value: Any) -> bool:
    """Whether a mapping anywhere inside `value` has a field whose name says it is secret."""
    if isinstance(value, Mapping):
        return any(is_secret_name(str(k)) or _names_a_secret(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_names_a_secret(v) for v in value)
    return False


def all_secret_paths(btype: str, data: Mapping[str, Any], stored: Iterable[str]) -> list[str]:
    """The secret fields of a stored block: those it was stored with and those today's rules find."""
    return sorted({*stored, *secret_paths(btype, data)})


def secret_values(data: Mapping[str, Any], paths: Iterable[str]) -> list[Any]:
    """The strings held by the secret fields `paths` of `data`."""
    return masked(data, set(paths), "")[1]


def public_view(btype: str, data: Mapping[str, Any], stored: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """(`data` with each secret field replaced by MASK and any copy of a secret elsewhere by ***, the secret
    fields). Applied to a public view again, it gives the same view."""
    fields = all_secret_paths(btype, data, stored)
    view, hidden = masked(data, set(fields), "")
    return _redact_values(view, Redactor(hidden)), fields


def _redact_values(obj: Any, redact: Redactor) -> Any:
    """`obj` with every string value (not the field names) redacted."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, Mapping):
        return {k: _redact_values(v, redact) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_redact_values(v, redact) for v in obj]
    return obj


def masked(obj: Mapping[str, Any], paths: set[str], prefix: str) -> tuple[dict[str, Any], list[Any]]:
    """(`obj` with the fields at `paths` replaced by MASK, the strings those fields held)."""
    out: dict[str, Any] = {}
    hidden: list[Any] = []
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if path in paths:
            out[key] = MASK
            hidden.extend(_leaves(value))
        elif isinstance(value, Mapping):
            out[key], more = masked(value, paths, path + ".")
            hidden.extend(more)
        else:
            out[key] = value
    return out, hidden


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value] if isinstance(value, str) and value and value != MASK else []
