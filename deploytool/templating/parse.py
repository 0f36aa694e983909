"""Parsing placeholders: split text into literal parts and `{{ ... }}`, translate Prefect's forms, compile the
expression in jinja2's sandbox. The only module that imports jinja2, and only inside `jinja()`.
"""

from __future__ import annotations

import functools
import re

from deploytool.errors import did_you_mean
from deploytool.records import record
from deploytool.templating import limits
from deploytool.templating.context import UNSAFE, UNSAFE_HINT, Unresolvable, ref_name

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any

ENV_REF = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|\$([A-Za-z_]\w*)""")
# Prefect's names may contain '-' (step ids, block slugs): a leading dotted name is taken whole, as Prefect does.
LEADING = re.compile(r"\s*([A-Za-z_][\w\-]*(?:\.[\w\-]+)*)")


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_UNSAFE_KEY = re.compile(r"""(?:\[|\battr\s*\()\s*['"]_""")
_UNSAFE_NAME = re.compile(r"\.\s*_|(?<![\w$\-.])_\w*")
_MUTATING_CALL = re.compile(
    r"\.\s*(?:append|extend|insert|pop|popitem|remove|clear|update|setdefault|add|discard|sort|reverse"
    r"|difference_update|intersection_update|symmetric_difference_update)\s*\("
)


def looks_unsafe(expr: str) -> bool:
    """True when the sandbox would refuse `expr` (a `_` attribute, key or name, or a call that changes a value),
    decided from the text alone, without jinja2, so that `deploytool validate` reports what `deploy` refuses."""
    if _UNSAFE_KEY.search(expr):
        return True
    bare = _QUOTED.sub("''", expr)
    return bool(_UNSAFE_NAME.search(bare) or _MUTATING_CALL.search(bare))


@record
class Segment:
    raw: str
    expr: str


@record
class Compiled:
    evaluate: Any  # jinja2.environment.TemplateExpression
    refs: tuple[tuple[str | int, ...], ...]


def split_segments(text: str) -> list[str | Segment]:
    """Split `text` into literal text and `{{ ... }}` placeholders (a `}}` inside quotes does not close)."""
    out: list[str | Segment] = []
    i = 0
    while (j := text.find("{{", i)) >= 0:
        out.append(text[i:j])
        k, quote = j + 2, ""
        while k < len(text):
            c = text[k]
            if quote:
                if c == "\\":
                    k += 1
                elif c == quote:
                    quote = ""
            elif c in "'\"":
                quote = c
            elif text.startswith("}}", k):
                break
            k += 1
        else:
            raise Unresolvable("unclosed placeholder", "close it with '}}', or write a literal '{{' as {{ '{{' }}")
        out.append(Segment(text[j : k + 2], text[j + 2 : k]))
        i = k + 2
    out.append(text[i:])
    return [s for s in out if s != ""]


def translate(expr: str) -> str:
    """Prefect's forms into jinja: `$NAME` and a leading hyphenated name become `_ref(...)` calls."""
    expr = ENV_REF.sub(lambda m: m.group(1) or f"_ref('$', {m.group(2)!r})", expr)
    lead = LEADING.match(expr)
    if lead and "-" in lead.group(1):
        parts = [int(p) if p.isdigit() else p for p in lead.group(1).split(".")]
        expr = expr[: lead.start(1)] + f"_ref({', '.join(map(repr, parts))})" + expr[lead.end(1) :]
    return expr


@functools.lru_cache(maxsize=2048)
def compile_expression(expr: str) -> Compiled:
    j = jinja()
    if not expr.strip():
        raise Unresolvable("empty placeholder")
    try:
        parser = j.Parser(j.env, translate(expr), state="variable")
        node = parser.parse_expression()
        if not parser.stream.eos:
            raise j.TemplateSyntaxError("unexpected text after the expression", 1)
    except j.TemplateSyntaxError as exc:
        raise Unresolvable(f"invalid placeholder: {exc.message}", "see docs/templating.md for the syntax") from None
    for name in [node, *node.find_all(j.nodes.Name)]:
        if isinstance(name, j.nodes.Name) and name.name.startswith("_") and name.name != "_ref":
            raise Unresolvable(UNSAFE, UNSAFE_HINT)
    rewriter = j.Rewriter()
    node = rewriter.visit(node)
    for attr in [node, *node.find_all(j.nodes.Getattr)]:
        if isinstance(attr, j.nodes.Getattr) and attr.attr.startswith("_"):
            raise Unresolvable(UNSAFE, UNSAFE_HINT)
    for item in [node, *node.find_all(j.nodes.Getitem)]:
        if (
            isinstance(item, j.nodes.Getitem)
            and isinstance(item.arg, j.nodes.Const)
            and str(item.arg.value).startswith("_")
        ):
            raise Unresolvable(UNSAFE, UNSAFE_HINT)
    if any(str(p).startswith("__") for parts in rewriter.refs for p in parts):
        raise Unresolvable(UNSAFE, UNSAFE_HINT)
    body = [j.nodes.Assign(j.nodes.Name("result", "store"), node, lineno=1)]
    tree = j.nodes.Template(body, lineno=1)
    tree.set_environment(j.env)
    try:
        template = j.env.from_string(tree)
    except j.TemplateSyntaxError as exc:  # e.g. an unknown filter
        word = re.search(r"named '([^']+)'", exc.message or "")
        hint = did_you_mean(word.group(1), j.env.filters) if word else None
        raise Unresolvable(f"invalid placeholder: {exc.message}", hint) from None
    return Compiled(j.TemplateExpression(template, False), tuple(rewriter.refs))


@functools.cache
def jinja() -> Any:
    """The jinja2 machinery, built once on first use (jinja2 is imported only here)."""
    from types import SimpleNamespace

    from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes
    from jinja2.environment import TemplateExpression
    from jinja2.exceptions import SecurityError
    from jinja2.parser import Parser
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from jinja2.visitor import NodeTransformer

    class MissingError(UndefinedError):
        """A reference that did not resolve: raised when its undefined stand-in is used."""

    def missing(reason: str) -> Any:
        return StrictUndefined(hint=reason, exc=MissingError)

    class Env(ImmutableSandboxedEnvironment):
        """The sandbox, with every operation on values checked against templating.limits before and after."""

        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**":
                limits.check_power(left, right)
            elif operator == "*":
                limits.check_repeat(left, right)
            elif operator == "%" and isinstance(left, str):
                limits.check_estimate(limits.percent_estimate(left, right), "'%'")
            elif operator == "+":
                limits.check_estimate(limits.measure(left) + limits.measure(right), "'+'")
            return limits.check_result(super().call_binop(context, operator, left, right), f"'{operator}'")

        def wrap_str_format(self, value: Any) -> Any:
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            fmt, name = value.__self__, value.__name__

            @functools.wraps(wrapped)
            def checked(*args: Any, **kwargs: Any) -> Any:
                estimate = limits.method_estimate(name, fmt, args, kwargs)
                limits.check_estimate(estimate or 0, f"'.{name}()'")
                return limits.check_result(wrapped(*args, **kwargs), f"'.{name}()'")

            return checked

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            if __obj is _concat:
                return _concat(*args)
            if __obj is __context.get("_ref"):  # a reference (`variables.x`): too large, it names what it read
                return limits.check_read(super().call(__context, __obj, *args, **kwargs), ref_name(args))
            name = getattr(__obj, "__name__", "a call")
            owner = getattr(__obj, "__self__", None)
            if isinstance(owner, str):
                estimate = limits.method_estimate(name, owner, args, kwargs)
                if estimate is not None:
                    limits.check_estimate(estimate, f"'.{name}()'")
            result = super().call(__context, __obj, *args, **kwargs)
            return limits.check_result(result, f"'.{name}()'" if owner is not None else f"'{name}()'")

    def _concat(*parts: Any) -> str:
        limits.check_estimate(sum(limits.measure(p) for p in parts), "'~'")
        return "".join(p if isinstance(p, str) else str(p) for p in parts)

    def checked_filter(name: str, func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = args[1:] if getattr(func, "jinja_pass_arg", None) is not None else args
            estimate = limits.filter_estimate(name, values, kwargs)
            if estimate is not None:
                limits.check_estimate(estimate, f"'| {name}'")
            result = func(*args, **kwargs)
            if isinstance(result, str | list | tuple | dict):
                limits.check_result(result, f"'| {name}'")
            return result

        return wrapper

    def chain(node: Any) -> tuple[str | int, ...] | None:
        if isinstance(node, nodes.Name):
            return (node.name,)
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "_ref":
            ok = node.args and all(isinstance(a, nodes.Const) for a in node.args) and not node.kwargs
            return tuple(a.value for a in node.args if isinstance(a, nodes.Const)) if ok else None
        if isinstance(node, nodes.Getattr):
            base = chain(node.node)
            return None if base is None else (*base, node.attr)
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            base = chain(node.node)
            ok = base is not None and isinstance(node.arg.value, str | int)
            return (*base, node.arg.value) if ok and base is not None else None
        return None

    class Rewriter(NodeTransformer):
        """Turns each dotted name (`a.b[0].c`) into `_ref('a', 'b', 0, 'c')` and records it."""

        def __init__(self) -> None:
            self.refs: list[tuple[str | int, ...]] = []

        def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
            parts = chain(node)
            if parts is None:
                return super().visit(node, *args, **kwargs)
            self.refs.append(parts)
            return nodes.Call(nodes.Name("_ref", "load"), [nodes.Const(p) for p in parts], [], None, None, lineno=1)

        def visit_Concat(self, node: Any) -> Any:  # `a ~ b` is checked like any other operation
            args = [self.visit(n) for n in node.nodes]
            return nodes.Call(nodes.Name("_concat", "load"), args, [], None, None, lineno=1)

        def visit_Call(self, node: Any) -> Any:
            if isinstance(node.node, nodes.Getattr):  # a method call: the method is not part of the name
                node.node.node = self.visit(node.node.node)
                node.args = [self.visit(a) for a in node.args]
                node.kwargs = [self.generic_visit(k) for k in node.kwargs]
                return node
            return self.generic_visit(node)

    env = Env(undefined=StrictUndefined, autoescape=False)
    env.globals.clear()  # no range/dict/lipsum/cycler/joiner/namespace: placeholders only read values
    env.globals["_concat"] = _concat  # a name user text cannot spell (names starting with '_' are refused)
    env.filters = {name: checked_filter(name, f) for name, f in env.filters.items()}
    return SimpleNamespace(
        env=env,
        nodes=nodes,
        Parser=Parser,
        TemplateExpression=TemplateExpression,
        Rewriter=Rewriter,
        missing=missing,
        MissingError=MissingError,
        Undefined=Undefined,
        UndefinedError=UndefinedError,
        SecurityError=SecurityError,
        TooLarge=limits.TooLarge,
        TemplateSyntaxError=TemplateSyntaxError,
    )
