"""Looking references up in a TemplateContext, with messages that say what is missing and what is close."""

from __future__ import annotations

from collections.abc import Mapping

from deploytool.errors import did_you_mean
from deploytool.templating.context import (
    HEADS,
    RUNTIME_NAMESPACES,
    UNSAFE,
    UNSAFE_HINT,
    TemplateContext,
    Unresolvable,
)
from deploytool.templating.limits import LIMIT_HINT, MAX_RENDER, check_result
from deploytool.templating.parse import Compiled, jinja

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any


class Resolver:
    """Looks up `_ref(*parts)` calls against a context. A miss returns an undefined value (so `| default`
    works) that raises, with a precise message and hint, as soon as it is used."""

    def __init__(self, ctx: TemplateContext) -> None:
        self.ctx = ctx
        self.hints: dict[str, str | None] = {}  # reason of a miss -> its hint (jinja carries only a message)
        self.produced = 0  # characters produced by the placeholders of this render (at most MAX_RENDER)

    def spend(self, size: int) -> None:
        """Count `size` characters against the render's budget; Unresolvable once the budget is spent."""
        self.produced += size
        if self.produced > MAX_RENDER:
            raise Unresolvable(
                f"too large: the placeholders of this file or job configuration build over {MAX_RENDER:,} "
                "characters in all",
                LIMIT_HINT,
            )

    def evaluate(self, compiled: Compiled) -> Any:
        j = jinja()
        try:
            value = compiled.evaluate(_ref=self)
            check_defined(value, j)
            check_result(value, "the placeholder")
            if callable(value):
                raise Unresolvable("the placeholder gives a function, not a value", "call it, or use a filter")
        except j.SecurityError:
            raise Unresolvable(UNSAFE, UNSAFE_HINT) from None
        except j.TooLarge as exc:
            raise Unresolvable(f"too large: {exc}", LIMIT_HINT) from None
        except j.MissingError as exc:
            raise Unresolvable(str(exc), self.hints.get(str(exc))) from None
        except j.UndefinedError as exc:
            raise Unresolvable(f"undefined value: {exc}") from None
        except Unresolvable:
            raise
        except Exception as exc:  # a user expression can raise anything (1/0, int('x')): report it, no traceback
            raise Unresolvable(f"could not evaluate: {type(exc).__name__}: {exc}") from None
        return value

    def __call__(self, *parts: str | int) -> Any:
        try:
            return self._resolve(parts)
        except Unresolvable as exc:
            self.hints[exc.reason] = exc.hint
            return jinja().missing(exc.reason)

    def _resolve(self, parts: tuple[str | int, ...]) -> Any:
        ctx, head, rest = self.ctx, str(parts[0]), parts[1:]
        if head != "$" and head in ctx.names:
            return select(ctx.names[head], rest, head)
        if head in ("$", "env"):
            if not rest:
                raise Unresolvable("'env' needs a variable name", "write {{ $NAME }} or {{ env.NAME }}")
            name = str(rest[0])
            if name not in ctx.env:
                hint = did_you_mean(name, ctx.env) or "set it, or give a default: {{ $NAME | default('x') }}"
                raise Unresolvable(f"environment variable {name} is not set", hint)
            return select(ctx.env[name], rest[1:], f"${name}")
        if head == "variables" or parts[:2] == ("prefect", "variables"):
            return self._variable(rest if head == "variables" else rest[1:])
        if head == "prefect":
            if rest[:1] == ("blocks",):
                return self._block(rest[1:])
            sub = str(rest[0]) if rest else ""
            hint = did_you_mean(sub, ["variables", "blocks"]) or "use prefect.variables.X or prefect.blocks.T.N"
            raise Unresolvable(f"unknown namespace 'prefect.{sub}'", hint)
        if head in RUNTIME_NAMESPACES:
            source = ctx.runtime if head == "ctx" else ctx.runtime.get(head)
            if not source:
                raise Unresolvable(
                    f"run-time value '{head}' is not available here", "it is set when a worker launches a run"
                )
            return select(source, rest, head)
        if head in ctx.steps:
            return select(ctx.steps[head], rest, head)
        close = did_you_mean(head, [*ctx.steps, *ctx.names, *HEADS])
        known = ", ".join([*ctx.steps, *ctx.names]) or "none"
        raise Unresolvable(
            f"unknown name '{head}': not an earlier step id nor a namespace", close or f"step ids: {known}"
        )

    def _variable(self, rest: tuple[str | int, ...]) -> Any:
        if not rest:
            raise Unresolvable("a variable reference needs a name", "write {{ variables.NAME }}")
        name = str(rest[0])
        if name not in self.ctx.variables:
            hint = did_you_mean(name, self.ctx.variables) or "create it with `deploytool variable set`"
            raise Unresolvable(f"variable '{name}' does not exist", hint)
        return select(self.ctx.variables[name], rest[1:], f"variables.{name}")

    def _block(self, rest: tuple[str | int, ...]) -> Any:
        if len(rest) < 2:
            raise Unresolvable("a block reference needs a type and a name", "write {{ prefect.blocks.TYPE.NAME }}")
        btype, bname, fields = str(rest[0]), str(rest[1]), rest[2:]
        if (btype, bname) not in self.ctx.blocks:
            names = [n for t, n in self.ctx.blocks if t == btype]
            if not names:
                hint = did_you_mean(btype, {t for t, _ in self.ctx.blocks}) or "no block of that type exists"
                raise Unresolvable(f"unknown block type '{btype}'", hint)
            hint = did_you_mean(bname, names) or f"blocks of type {btype}: {', '.join(names)}"
            raise Unresolvable(f"no block '{bname}' of type '{btype}'", hint)
        data: Any = self.ctx.blocks[(btype, bname)]
        # Secret-style blocks hold {"value": X}: the reference means X, unless it selects "value" itself.
        if isinstance(data, Mapping) and set(data) == {"value"} and fields[:1] != ("value",):
            data = data["value"]
        return select(data, fields, f"prefect.blocks.{btype}.{bname}")


def select(value: Any, rest: tuple[str | int, ...], label: str) -> Any:
    for part in rest:
        if isinstance(value, Mapping):
            key: Any = part if part in value else str(part)
            if key not in value:
                raise Unresolvable(f"{label} has no key {str(part)!r}", did_you_mean(str(part), value))
            value = value[key]
        elif isinstance(value, list | tuple) and str(part).isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise Unresolvable(f"{label} ({type(value).__name__}) has no key {str(part)!r}")
        label = f"{label}.{part}"
    return value


def check_defined(value: Any, j: Any) -> None:
    if isinstance(value, j.Undefined):
        if getattr(value, "_undefined_exception", None) is j.SecurityError:  # the sandbox refused an attribute
            raise Unresolvable(UNSAFE, UNSAFE_HINT)
        str(value)  # a StrictUndefined raises its own error (a Missing one: ours, with the hint)
    elif isinstance(value, Mapping):
        for v in value.values():
            check_defined(v, j)
    elif isinstance(value, list | tuple):
        for v in value:
            check_defined(v, j)
