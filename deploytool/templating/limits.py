"""Size limits of what a placeholder may build, so that a template cannot exhaust memory.

Every operation the sandbox performs on values (operators, `~`, method calls, filters) is checked twice: before
it runs, an estimate from its arguments (padding widths, format specs, `replace`, `join`, `indent`, ...) must
stay under MAX_VALUE; after it runs, its result must too. A whole render (every placeholder of one tree) may
produce at most MAX_RENDER characters. Pure Python: no jinja2 here (parse.py wires these checks into the sandbox).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

MAX_VALUE = 1_000_000  # characters (or elements) one placeholder, and each step of its expression, may build
MAX_RENDER = 10_000_000  # characters all the placeholders of one rendered tree may produce together
# Numbers may have at most this many bits (4,215 digits): Python writes no number over 4,300 digits as text
# (sys.get_int_max_str_digits), so a bigger one could not be put in a string or stored.
MAX_NUMBER_BITS = 14_000
LIMIT_HINT = "placeholders may read and combine values, not build large ones (limits: docs/templating.md#limits)"

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


class TooLarge(Exception):
    """An operation in a placeholder would build a value over the limit."""


def measure(value: Any, budget: int = MAX_VALUE) -> int:
    """About how many characters `value` takes as text (JSON for containers); stops counting past `budget`.

    Shared references count each time they are used (`[x] * 1000` is 1000 times `x`), as they would in the
    rendered text. The walk costs at most `budget` steps, so measuring a huge or cyclic value is cheap.
    """
    total = 0
    stack = [value]
    while stack:
        if total > budget:
            return total
        v = stack.pop()
        if isinstance(v, str | bytes):
            total += len(v) + 2
        elif isinstance(v, bool) or v is None:
            total += 5
        elif isinstance(v, int):
            total += v.bit_length() // 3 + 1
        elif isinstance(v, Mapping):
            total += 2 + len(v)
            for k, item in v.items():
                stack.append(k)
                stack.append(item)
        elif isinstance(v, list | tuple | set | frozenset):
            total += 2 + len(v)
            stack.extend(v)
        else:
            total += 8
    return total


def check_result(value: Any, what: str) -> Any:
    """`value`, or TooLarge when it is over MAX_VALUE (a number: over MAX_NUMBER_BITS)."""
    if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
        raise TooLarge(f"{what} builds a number over {MAX_NUMBER_BITS:,} bits")
    if measure(value) > MAX_VALUE:
        raise TooLarge(f"{what} builds a value over {MAX_VALUE:,} characters")
    return value


def check_read(value: Any, name: str) -> Any:
    """`value` read by the reference `name`, or TooLarge when it is over MAX_VALUE."""
    if measure(value) > MAX_VALUE:
        raise TooLarge(f"{name} holds a value over {MAX_VALUE:,} characters")
    return value


def check_estimate(size: int, what: str) -> None:
    if size > MAX_VALUE:
        raise TooLarge(f"{what} would build a value over {MAX_VALUE:,} characters")


def _int(v: Any, default: int = 0) -> int:
    return abs(v) if isinstance(v, int) and not isinstance(v, bool) else default


def _text_len(v: Any) -> int:
    return len(v) if isinstance(v, str) else measure(v)


def percent_estimate(fmt: Any, args: Any) -> int:
    """Size of `fmt % args`: the format, its widths and precisions, and the arguments."""
    if not isinstance(fmt, str):
        return 0
    widths = 0
    for m in _PERCENT_SPEC.finditer(fmt):
        for g in m.groups():
            widths += int(g) if g and g.isdigit() else 0
    star_args = sum(_int(a) for a in args) if isinstance(args, tuple) and "*" in fmt else 0
    return len(fmt) + widths + star_args + measure(args)


def format_estimate(fmt: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """Size of `fmt.format(*args, **kwargs)`: widths and precisions in the specs, nested ones from the arguments."""
    if not isinstance(fmt, str):
        return 0
    widths, nested = 0, False
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return len(fmt)
    for _literal, _field, spec, _conv in parsed:
        if spec:
            widths += sum(int(d) for d in _DIGITS.findall(spec))
            nested = nested or "{" in spec
    if nested:
        widths += sum(_int(a) for a in (*args, *kwargs.values()))
    fields = max(1, len(parsed))
    return len(fmt) + widths + fields * measure((args, dict(kwargs)))


def method_estimate(name: str, obj: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int | None:
    """Size of `obj.<name>(...)` for the str methods that can build more than they are given."""
    n = len(obj)
    first = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill"):
        return max(n, _int(first, _int(kwargs.get("width"))))
    if name == "expandtabs":
        tab = _int(first, _int(kwargs.get("tabsize"), 8))
        return n * max(tab, 1)
    if name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            count = obj.count(old) if old else n + 1
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                count = min(count, args[2])
            return n + count * max(0, len(new) - len(old))
    if name == "join" and args:
        items = args[0]
        if isinstance(items, list | tuple | set | frozenset | Mapping):
            return measure(items) + n * len(items)
        if isinstance(items, str):
            return len(items) * (n + 1)
    if name == "format":
        return format_estimate(obj, args, kwargs)
    if name == "format_map" and args and isinstance(args[0], Mapping):
        return format_estimate(obj, tuple(args[0].values()), {})
    if name == "translate" and args:
        return n * (1 + measure(args[0]))
    return None


def filter_estimate(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int | None:
    """Size of `value | name(...)` for the filters that can build more than they are given (args[0] is value)."""
    if not args:
        return None
    value, rest = args[0], args[1:]

    def arg(i: int, key: str, default: Any = None) -> Any:
        return rest[i] if len(rest) > i else kwargs.get(key, default)

    if name == "center":
        return max(_text_len(value), _int(arg(0, "width", 80)))
    if name == "indent":
        width = arg(0, "width", 4)
        pad = len(width) if isinstance(width, str) else _int(width)
        text = value if isinstance(value, str) else str(value)[: MAX_VALUE + 1]
        return len(text) + (text.count("\n") + 1) * pad
    if name == "format":
        return percent_estimate(value, rest) + measure(dict(kwargs))
    if name == "replace":
        old, new = arg(0, "old"), arg(1, "new")
        count = arg(2, "count")
        if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
            return method_estimate("replace", value, (old, new, -1 if count is None else count), {})
    if name == "join":
        sep = arg(0, "d", "")
        items = measure(value)
        length = len(value) if isinstance(value, list | tuple | str | Mapping) else items
        return items + length * len(sep if isinstance(sep, str) else str(sep))  # jinja joins with str(d)
    if name == "wordwrap":
        wrap = arg(2, "wrapstring") or "\n"
        return _text_len(value) * (1 + (len(wrap) if isinstance(wrap, str) else 1))
    if name in ("batch", "slice"):
        return measure(value) + _int(arg(0, "linecount" if name == "batch" else "slices"))
    if name in ("tojson", "pprint"):
        indent = _int(arg(0, "indent"), 1) if name == "tojson" else 1
        size = measure(value)
        return size if size > MAX_VALUE else size * (1 + indent * depth(value))
    if name in ("sum", "list", "string", "unique", "sort", "reverse", "e", "escape", "forceescape", "urlize"):
        return measure(value) * (5 if name in ("e", "escape", "forceescape", "urlize") else 1)
    return None


def depth(value: Any, limit: int = 1_000) -> int:
    """How deeply `value` nests (at most `limit`)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return limit
        deepest = max(deepest, d)
        if isinstance(v, Mapping):
            stack.extend((item, d + 1) for item in v.values())
        elif isinstance(v, list | tuple):
            stack.extend((item, d + 1) for item in v)
    return deepest


def check_power(left: Any, right: Any) -> None:
    """`left ** right` stays a number of at most MAX_NUMBER_BITS bits."""
    if not isinstance(right, int | float) or isinstance(right, bool):
        return
    if abs(right) > 100:
        raise TooLarge("'**' with an exponent over 100")
    if isinstance(left, int) and right > 0 and left.bit_length() * right > MAX_NUMBER_BITS:
        raise TooLarge(f"'**' would build a number over {MAX_NUMBER_BITS:,} bits")


def check_repeat(left: Any, right: Any) -> None:
    """`left * right` of a sequence and a count stays under MAX_VALUE."""
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(n, int) and n > 0:
            check_estimate((len(seq) if isinstance(seq, str) else measure(seq)) * n, "'*'")
