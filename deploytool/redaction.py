"""Secrets kept out of everything deploytool stores or shows: the one redaction helper, used by every caller.

A secret is hidden in every form deploytool itself may write it in, not only as its exact text:

- its repr() and ascii() bodies (backslashes, quotes and non-printable characters escaped, with either quote
  style, non-ASCII characters as they are or as `\\xdc`/`\\u20ac`): `failed: KeyError: 'Pa\\\\ss'`, a result
  `{'token': '...'}`;
- its JSON encoding (with or without `ensure_ascii`): an event line, `--output json`;
- each of those encodings of an encoded form (an exception message inside a dict's repr, a repr inside JSON);
- each line of a multi-line secret (a PEM key printed line by line), once the line has MIN_LINE_CHARS
  characters or more, and a secret without its surrounding whitespace.

Matching ignores case (`\\xDC` and `\\xdc`, `TOKEN` and `token`); the text around a secret is kept as it is.
A Redactor made with `remember=True` (the worker's for each run, a step sequence's) also adds its secrets to
`process_redactor()`, which the last line of defence applies (the worker's own log, the internal error message
and crash.log). Standard library only: the engine's pull steps use it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

MASK = "***"
MIN_LINE_CHARS = 4
"""A line of a multi-line secret shorter than this is not hidden on its own (it would mask common text)."""

_QUOTES = ("'", '"', "")


def _python_body(text: str, quote: str, ascii_only: bool) -> str:
    """`text` as it appears between the quotes of a Python string literal: repr()'s escaping with `quote`."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == quote:
            out.append("\\" + char)
        elif char.isprintable() and not (ascii_only and not char.isascii()):
            out.append(char)
        else:
            out.append((ascii if ascii_only else repr)(char)[1:-1])
    return "".join(out)


def _encodings(text: str) -> set[str]:
    """The forms one level of encoding gives `text`: Python literal bodies and JSON string bodies."""
    found = {_python_body(text, quote, ascii_only) for quote in _QUOTES for ascii_only in (False, True)}
    found.add(json.dumps(text, ensure_ascii=False)[1:-1])
    found.add(json.dumps(text, ensure_ascii=True)[1:-1])
    return found


def representations(secret: str) -> set[str]:
    """Every text that stands for `secret` in what deploytool writes (see the module's docstring)."""
    if not secret:
        return set()
    bases = {secret}
    stripped = secret.strip()
    if stripped:
        bases.add(stripped)
    if "\n" in secret or "\r" in secret:
        bases.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= MIN_LINE_CHARS)
    found = set(bases)
    for base in bases:
        once = _encodings(base)
        found |= once
        for form in once:
            found |= _encodings(form)
    found.discard("")
    return found


class Redactor:
    """Replaces every representation of any of `secrets` with MASK; callable on a str, `value()` on data.

    Longest forms first, so that a secret's escaped form is masked whole rather than around a shorter one.
    """

    def __init__(self, secrets: Iterable[object] = (), *, remember: bool = False) -> None:
        values = {str(s) for s in secrets if s is not None and str(s) != ""}
        self.secrets = frozenset(values)
        forms = sorted({form for value in values for form in representations(value)}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, forms)), re.IGNORECASE) if forms else None
        if remember and values:
            _remember(values)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        """`text` with every representation of a secret masked."""
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def value(self, obj: Any) -> Any:
        """`obj` with every string in it (mapping keys and values, list and tuple items) redacted; tuples
        become lists (the shape JSON gives them)."""
        if self._pattern is None:
            return obj
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, Mapping):
            return {self.value(k): self.value(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.value(v) for v in obj]
        return obj


_known: set[str] = set()
_known_lock = threading.Lock()
_process: Redactor | None = None


def _remember(values: Iterable[str]) -> None:
    global _process
    with _known_lock:
        before = len(_known)
        _known.update(values)
        if len(_known) != before:
            _process = None


def process_redactor() -> Redactor:
    """A redactor for every secret any Redactor of this process was given: for crash reports."""
    global _process
    with _known_lock:
        if _process is None:
            _process = Redactor(_known)
        return _process
