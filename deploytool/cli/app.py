"""The typer application: the command groups, registered from their modules.

typer turns every registered command into a click command (reading each function's signature) on every
start, so `build_app(command)` registers only the module that holds the command being run; `--help` and
unknown commands get every module. `app` (everything) is what tests and `python -m` tooling import.
"""

from __future__ import annotations

import importlib

import typer

from deploytool import __version__
from deploytool.cli.commands import COMMAND_MODULES, ROOT_HELP
from deploytool.cli.helpformat import use_box_help

__all__ = ["COMMAND_MODULES", "build_app"]


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
        import os

        from deploytool.settings import STORE_URL_ENV

        os.environ[STORE_URL_ENV] = store  # read by Settings.from_env(), here and in processes it starts


def build_app(command: str | None = None) -> typer.Typer:
    """The application with the module of `command` registered, or every module when it is not known."""
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
        module.register(application)
    return application


def __getattr__(name: str) -> typer.Typer:
    # `from deploytool.cli.app import app`: the whole application, built on first use.
    if name == "app":
        application = build_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
