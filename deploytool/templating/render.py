"""Rendering trees of data and finding the references in them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from deploytool.templating.context import (
    PlaceholderError,
    Ref,
    TemplateContext,
    Unresolvable,
    join_path,
    namespace_of,
)
from deploytool.templating.limits import measure
from deploytool.templating.parse import Compiled, Segment, compile_expression, split_segments
from deploytool.templating.resolve import Resolver

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


def render_tree(obj: Any, context: TemplateContext, path: str = "") -> Any:
    """Render every string in `obj` (dicts, lists, strings; keys too). Other values pass through."""
    resolver = Resolver(context)
    return _render(obj, context, path, resolver)


def find_refs(obj: Any, path: str = "") -> list[Ref]:
    """Every reference in `obj`, without rendering. Raises PlaceholderError for a malformed placeholder."""
    refs: list[Ref] = []
    for spath, text in _strings(obj, path):
        segments = _segments_or_raise(text, spath)
        whole = len(segments) == 1 and isinstance(segments[0], Segment)
        for seg in segments:
            if isinstance(seg, Segment):
                compiled = _compile_or_raise(seg, spath)
                refs.extend(Ref(spath, seg.raw, seg.expr.strip(), parts, whole) for parts in compiled.refs)
    return refs


def check_tree(obj: Any, path: str = "") -> list[PlaceholderError]:
    """Every malformed or unsafe placeholder in `obj`, collected rather than raised."""
    problems: list[PlaceholderError] = []
    for spath, text in _strings(obj, path):
        try:
            find_refs(text, spath)
        except PlaceholderError as exc:
            problems.append(exc)
    return problems


def has_placeholders(text: str) -> bool:
    return "{{" in text


def is_placeholder(text: str) -> bool:
    """True when `text` is exactly one placeholder (so it would render to a native value)."""
    try:
        segments = split_segments(text)
    except Unresolvable:
        return False
    return len(segments) == 1 and isinstance(segments[0], Segment)


def _strings(obj: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            sub = join_path(path, k)
            if isinstance(k, str) and has_placeholders(k):
                yield sub, k
            yield from _strings(v, sub)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _strings(v, join_path(path, i))


def _segments_or_raise(text: str, path: str) -> list[str | Segment]:
    try:
        return split_segments(text)
    except Unresolvable as exc:
        raise PlaceholderError(path, repr(text), exc.reason, exc.hint) from None


def _compile_or_raise(seg: Segment, path: str) -> Compiled:
    try:
        return compile_expression(seg.expr)
    except Unresolvable as exc:
        raise PlaceholderError(path, seg.raw, exc.reason, exc.hint) from None


def _render(obj: Any, ctx: TemplateContext, path: str, resolver: Resolver) -> Any:
    if isinstance(obj, str):
        return _render_str(obj, ctx, path, resolver) if has_placeholders(obj) else obj
    if isinstance(obj, Mapping):
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            sub = join_path(path, k)
            key = str(_render_str(k, ctx, sub, resolver, inline=True)) if isinstance(k, str) else k
            out[key] = _render(v, ctx, sub, resolver)
        return out
    if isinstance(obj, list | tuple):
        return [_render(v, ctx, join_path(path, i), resolver) for i, v in enumerate(obj)]
    return obj


def _render_str(text: str, ctx: TemplateContext, path: str, resolver: Resolver, inline: bool = False) -> Any:
    segments = _segments_or_raise(text, path)
    whole = not inline and len(segments) == 1 and isinstance(segments[0], Segment)
    out: list[str] = []
    for seg in segments:
        if isinstance(seg, str):
            out.append(seg)
            continue
        compiled = _compile_or_raise(seg, path)
        if ctx.keep and any(_keep_key(p, ctx) in ctx.keep for p in compiled.refs):
            out.append(seg.raw)
            continue
        try:
            value = resolver.evaluate(compiled)
        except Unresolvable as exc:
            raise PlaceholderError(path, seg.raw, exc.reason, exc.hint) from None
        try:
            resolver.spend(measure(value))
        except Unresolvable as exc:
            raise PlaceholderError(path, seg.raw, exc.reason, exc.hint) from None
        if whole:
            return _escape_tree(value) if ctx.keep and ctx.escape else value
        text_value = value if isinstance(value, str) else _inline(value)
        out.append(_escape(text_value) if ctx.keep and ctx.escape else text_value)
    return "".join(out)


def _keep_key(parts: tuple[str | int, ...], ctx: TemplateContext) -> str | None:
    if parts[0] != "$" and parts[0] in ctx.names:
        return None  # names always resolve
    return namespace_of(parts) or str(parts[0])


def _inline(value: Any) -> str:
    # Containers inside text become JSON (not Python's repr), so a shell or a program can parse them.
    return json.dumps(value, default=str) if isinstance(value, Mapping | list | tuple) else str(value)


def _escape(text: str) -> str:
    return text.replace("{{", "{{ '{{' }}")


def _escape_tree(value: Any) -> Any:
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, Mapping):
        return {k: _escape_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_tree(v) for v in value]
    return value
