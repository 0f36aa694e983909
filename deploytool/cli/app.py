"""The typer application, built from the command groups the modules declare (cli/params.py).

A normal command never comes here: cli/parser.py parses it from the recorded table and calls its function.
typer is needed for shell completion, for a command whose recorded table is out of date, for helpgen and the
tests; `build_app(command)` then registers only the module that holds the command being run (typer turns every
registered command into a click command, reading each function's signature); `--help` and unknown commands get
every module. `app` (everything) is what tests and `python -m` tooling import.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from deploytool import __version__
from deploytool.cli import params
from deploytool.cli.commands import COMMAND_MODULES, ROOT_HELP
from deploytool.cli.helpformat import use_box_help

__all__ = ["COMMAND_MODULES", "add_groups", "build_app", "typed"]

Caller = Callable[[Callable[..., Any], dict[str, Any]], Any]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"deploytool {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", "-V", help="Print the version and exit.", callback=_version, is_eager=True
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        metavar="URL",
        help="The store to use: sqlite:///PATH or postgresql://USER@HOST:PORT/DB (default: $DEPLOYTOOL_STORE_URL,"
        " else $DEPLOYTOOL_HOME/deploytool.db). Keep passwords out of it: use PGPASSWORD or ~/.pgpass.",
    ),
) -> None:
    """Declarative deployments and workers for Python flows."""
    if store is not None:
        from deploytool.cli.parser import use_store

        use_store(store)


def build_app(command: str | None = None, *, call: Caller | None = None) -> typer.Typer:
    """The application with the module of `command` registered, or every module when it is not known.
    `call(function, kwargs)` calls each command's function (tests record the call instead)."""
    use_box_help()
    application = typer.Typer(
        name="deploytool",
        help=ROOT_HELP,
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion; costs nothing until used
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # help and usage errors without rich (~0.4 s of CPU): cli/helpformat.py draws them
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    application.callback()(_root)
    every = list(dict.fromkeys(COMMAND_MODULES.values()))
    modules = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else every
    for name in modules:
        module = importlib.import_module(f"deploytool.cli.{name}")
        add_groups(application, module.GROUPS, call=call)
    return application


def add_groups(application: typer.Typer, groups: Iterable[params.Group], *, call: Caller | None = None) -> None:
    """Add the commands and groups a module declares to `application` (once: safe to call again)."""
    present = {group.name for group in application.registered_groups}
    commands = {command.name for command in application.registered_commands}
    for group in groups:
        if group.name is None:
            for command in group.commands:
                if command.name not in commands:
                    application.command(command.name, epilog=command.epilog)(typed(command.target(), call))
            continue
        if group.name in present:
            continue
        sub = typer.Typer(name=group.name, help=_text(group.help), no_args_is_help=True)
        for command in group.commands:
            sub.command(command.name, epilog=command.epilog)(typed(command.target(), call))
        application.add_typer(sub, name=group.name)


def _text(help_text: str | Callable[[], str] | None) -> str | None:
    return help_text() if callable(help_text) else help_text


def _typer_info(declared: params.Option | params.Argument) -> Any:
    if isinstance(declared, params.Argument):
        return typer.Argument(help=declared.help, metavar=declared.metavar)
    return typer.Option(
        *declared.decls,
        help=_text(declared.help),
        metavar=declared.metavar,
        min=declared.min,
        max=declared.max,
        show_default=declared.show_default,
    )


def declared_parameters(function: Callable[..., Any]) -> list[tuple[inspect.Parameter, Any, Any]]:
    """Each parameter of a command function: its signature entry, its type, and its Option or Argument."""
    # Command modules import Annotated and Path for type checking only (not at a command's start).
    hints = typing.get_type_hints(function, localns={"Annotated": Annotated, "Path": Path}, include_extras=True)
    found = []
    for parameter in inspect.signature(function).parameters.values():
        hint = hints[parameter.name]
        if typing.get_origin(hint) is not Annotated:
            raise TypeError(f"{function.__qualname__}: parameter {parameter.name!r} is not Annotated[TYPE, Option]")
        kind, *extras = typing.get_args(hint)
        declared = [e for e in extras if isinstance(e, params.Option | params.Argument)]
        if len(declared) != 1:
            raise TypeError(f"{function.__qualname__}: parameter {parameter.name!r} needs one Option or Argument")
        found.append((parameter, kind, declared[0]))
    return found


def typed(function: Callable[..., Any], call: Caller | None = None) -> Callable[..., Any]:
    """`function` as typer reads it: the same parameters, with typer's Option and Argument for cli/params.py's.
    A `params.BadParameter` it raises becomes click's, which words it as a usage error."""
    parameters = [
        parameter.replace(annotation=Annotated[kind, _typer_info(declared)])
        for parameter, kind, declared in declared_parameters(function)
    ]

    @functools.wraps(function)
    def command(**kwargs: Any) -> Any:
        try:
            return function(**kwargs) if call is None else call(function, kwargs)
        except params.BadParameter as exc:
            raise typer.BadParameter(exc.message, param_hint=exc.param_hint) from None

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def __getattr__(name: str) -> typer.Typer:
    # `from deploytool.cli.app import app`: the whole application, built on first use.
    if name == "app":
        application = build_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
