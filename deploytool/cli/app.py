"""The typer application: the command groups, registered from their modules."""

from __future__ import annotations

import typer

from deploytool import __version__

app = typer.Typer(
    name="deploytool",
    help="Declarative deployments and workers for Python flows (deploy.yaml, or your prefect.yaml).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"deploytool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Declarative deployments and workers for Python flows."""


def _register() -> None:
    from deploytool.cli import config_cmds, deploy_cmds, pool_cmds, queue_cmds, value_cmds

    config_cmds.register(app)
    deploy_cmds.register(app)
    pool_cmds.register(app)
    queue_cmds.register(app)
    value_cmds.register(app)


_register()
