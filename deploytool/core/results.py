"""What the typed results of core have in common: block secrets masked in every field.

Core's use cases return frozen records (deploytool.records: RunDetail, PoolDetail, Explanation, ...) that the
CLI and the dashboard render; each has a `to_dict()` giving its JSON (the `--output json` document, the API's). A result
that shows stored text (a state message, parameters, job variables) passes through `redacted` before it is
returned, so no caller can show a stored secret.
"""

from __future__ import annotations

from enum import Enum

from deploytool.records import field_names, is_record, replace
from deploytool.redaction import Redactor

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")


def redacted(result: T, redactor: Redactor) -> T:
    """`result` (a dataclass, a list of them, or plain data) with every string in it redacted, in every field
    at any depth; enums, times and numbers are kept as they are."""
    if not redactor:
        return result
    value: T = _walk(result, redactor)
    return value


def _walk(obj: Any, redactor: Redactor) -> Any:
    if isinstance(obj, Enum):
        return obj
    if isinstance(obj, str):
        return redactor(obj)
    if isinstance(obj, type):
        return obj
    if is_record(obj):
        return replace(obj, **{name: _walk(getattr(obj, name), redactor) for name in field_names(obj)})
    if hasattr(type(obj), "__dataclass_fields__"):  # a dataclass that is not a record
        import dataclasses

        changes = {f.name: _walk(getattr(obj, f.name), redactor) for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    if isinstance(obj, dict):
        return {_walk(k, redactor): _walk(v, redactor) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_walk(v, redactor) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_walk(v, redactor) for v in obj)
    return obj
