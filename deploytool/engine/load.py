"""Loading a run's entrypoint and matching its parameters to the flow's signature."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Mapping
from types import ModuleType

from deploytool.flows import Flow

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a job does not import typing (issue 17)
if TYPE_CHECKING:
    from typing import Any


class LoadError(Exception):
    """The entrypoint could not be loaded, or the parameters do not fit the flow. Carries a hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def load_flow(entrypoint: str, cwd: str) -> Flow[..., Any]:
    """Import `path/to/file.py:name` (relative to `cwd`) or `package.module:name` and return its flow.

    A plain function is wrapped in a Flow with default options. An exception raised while importing the user's
    module propagates unchanged (its traceback is what the user needs); every other problem is a LoadError.
    """
    target, sep, attr_path = entrypoint.rpartition(":")
    if not sep or not target or not attr_path:
        raise LoadError(
            f"entrypoint {entrypoint!r} is not of the form 'path/to/file.py:function' or 'package.module:function'"
        )
    module = _import_file(target, cwd) if target.endswith(".py") or "/" in target else _import_module(target)
    obj: Any = module
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            flows = sorted(n for n, v in vars(module).items() if isinstance(v, Flow))
            from deploytool.errors import did_you_mean  # only for a mistake: it costs every start

            hint = did_you_mean(part, list(vars(obj)) if hasattr(obj, "__dict__") else [])
            if not hint and flows:
                hint = f"flows in {target}: {', '.join(flows)}"
            raise LoadError(f"{target} has no {attr_path!r} (entrypoint {entrypoint!r})", hint)
        obj = getattr(obj, part)
    if isinstance(obj, Flow):
        return obj
    if type(obj).__module__.startswith("prefect.") and callable(getattr(obj, "fn", None)):
        return _real_prefect_flow(obj)
    if isinstance(obj, types.FunctionType | types.MethodType):
        return Flow(obj)
    raise LoadError(f"entrypoint {entrypoint!r} names a {type(obj).__name__}, not a flow or a function")


def _real_prefect_flow(obj: Any) -> Flow[..., Any]:
    # The real prefect package is installed in the job and the flow file used it: Prefect's own engine runs the
    # flow (calling the Prefect flow object), with its own retries and timeouts; ours reports the outcome.
    @functools.wraps(obj.fn)
    def call_prefect_flow(*args: Any, **kwargs: Any) -> Any:
        return obj(*args, **kwargs)

    return Flow(call_prefect_flow, name=str(getattr(obj, "name", None) or obj.fn.__name__))


def _import_file(target: str, cwd: str) -> ModuleType:
    path = os.path.realpath(os.path.join(cwd, target))
    if not os.path.isfile(path):
        raise LoadError(
            f"flow file {target} not found in {cwd}",
            hint="entrypoints are relative to the directory the run is in after its pull steps",
        )
    # The file's directory goes first on sys.path, as `python path/to/file.py` would do, so its siblings import.
    sys.path.insert(0, os.path.dirname(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() and stem not in sys.modules else "deploytool_flow_module"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # registered before running it: dataclasses and pickling look modules up
    spec.loader.exec_module(module)
    return module


def _import_module(target: str) -> ModuleType:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `pkg.mod` resolves from the run's directory, like `python -m`
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and (target == exc.name or target.startswith(exc.name + ".")):
            hint = f"looked in {os.getcwd()} and on sys.path"
            raise LoadError(f"module {target!r} of the entrypoint not found", hint) from None
        raise


def check_parameters(flow: Flow[..., Any], parameters: Mapping[str, Any]) -> None:
    """Raise LoadError naming every unknown and every missing required parameter."""
    found = _parameters(flow.fn)
    if found is None:
        return  # no signature to check against (a builtin): let the call itself decide
    named, takes_kwargs = found
    unknown = [] if takes_kwargs else sorted(set(parameters) - set(named))
    missing = [n for n, default in named.items() if default is _REQUIRED and n not in parameters]
    if not unknown and not missing:
        return
    problems = []
    if unknown:
        problems.append(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")
    if missing:
        problems.append(f"missing required parameter{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    accepted = ", ".join(n if d is _REQUIRED else f"{n}={d!r}" for n, d in named.items())
    raise LoadError(f"flow {flow.name!r}: {'; '.join(problems)}", hint=f"the flow takes: {accepted or 'no parameters'}")


_REQUIRED = object()
_CO_VARKEYWORDS = 0x08  # inspect.CO_VARKEYWORDS, without importing inspect


def _parameters(fn: Any) -> tuple[dict[str, Any], bool] | None:
    """The keyword-passable parameters of `fn` with their defaults (`_REQUIRED` when none), and whether it takes
    **kwargs. A plain function is read from its code object; anything else through inspect.signature (imported
    only then: it costs every run's start-up)."""
    if type(fn) is types.FunctionType and not hasattr(fn, "__wrapped__") and not hasattr(fn, "__signature__"):
        code = fn.__code__
        positional = code.co_varnames[code.co_posonlyargcount : code.co_argcount]
        keyword_only = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
        defaults = fn.__defaults__ or ()
        named: dict[str, Any] = dict.fromkeys(positional, _REQUIRED)
        for name, default in zip(positional[len(positional) - len(defaults) :], defaults, strict=True):
            named[name] = default
        kw_defaults = fn.__kwdefaults__ or {}
        named.update({name: kw_defaults.get(name, _REQUIRED) for name in keyword_only})
        return named, bool(code.co_flags & _CO_VARKEYWORDS)
    import inspect

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = signature.parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    named = {
        p.name: _REQUIRED if p.default is inspect.Parameter.empty else p.default for p in params if p.kind in kinds
    }
    return named, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


class inspect_flags:
    VARKEYWORDS = 0x08
