"""Conversions between model values and SQLite column values, and the fields an update was given, shared by the
repositories."""

from __future__ import annotations

import json
from datetime import UTC, datetime

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

# The default of an update's keyword that was not given (None is a value: `concurrency_limit=None` removes it).
UNSET: Any = object()


def given(**fields: Any) -> dict[str, Any]:
    """The fields an update was given: those not UNSET."""
    return {name: value for name, value in fields.items() if value is not UNSET}


def ts(value: datetime) -> str:
    """An aware datetime as fixed-width ISO UTC text, so that text order is time order."""
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time would be read back as UTC and silently shift by the local offset.
        raise ValueError(f"naive datetime {value!r}: deploytool stores only timezone-aware times")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def ts_or_none(value: datetime | None) -> str | None:
    return None if value is None else ts(value)


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def dt_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def dump(value: Any) -> str:
    """JSON text of a document; keys keep their order (parameters are shown in the order written)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
