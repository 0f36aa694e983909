"""The top-level commands: the module that declares each, and its line in `deploytool --help`.

Standard library only: `deploytool --help` (and `deploytool` alone) is drawn from this table without importing
typer or any command module (DESIGN.md, "Fast"); every other command is parsed from cli/command_table.py
(cli/parser.py), and typer, when it is needed, registers just the module that holds the command (cli/app.py).
tests/cli/test_help.py holds this table to what the declared commands say of themselves.
To add a top-level command or group: declare it in its module's GROUPS (cli/params.py), and one line here.

`deploytool COMMAND ... --help` is drawn without typer too, from cli/help_screens.py: every command's help screen
as typer records it (cli/helpgen.py writes that file). Each screen is used only while the sources it was made
from are unchanged (cli/sources.py); after a change, typer draws the help until the file is written again.
"""

from __future__ import annotations

import sys

from deploytool.cli.helpbox import assemble, draw, help_width, panel, text_lines, usage_lines
from deploytool.cli.sources import help_fingerprint

ROOT_HELP = "Declarative deployments and workers for Python flows (deploy.yaml, or your prefect.yaml)."
ROOT_OPTIONS = (
    ("-V, --version", "Print the version and exit."),
    (
        "--store URL",
        "The store to use: sqlite:///PATH or postgresql://USER@HOST:PORT/DB (default: $DEPLOYTOOL_STORE_URL, else"
        " $DEPLOYTOOL_HOME/deploytool.db). Keep passwords out of it: use PGPASSWORD or ~/.pgpass.",
    ),
    ("--install-completion", "Install completion for the current shell."),
    ("--show-completion", "Show completion for the current shell, to copy it or customize the installation."),
    ("-h, --help", "Show this message and exit."),
)


class TopCommand:
    """A top-level command or group (a plain class: dataclasses would cost `--help` the import of inspect)."""

    __slots__ = ("group", "module", "name", "summary")

    def __init__(self, name: str, module: str, summary: str, *, group: bool = False) -> None:
        self.name = name
        self.module = module  # under deploytool.cli
        self.summary = summary  # the first sentence of its help
        self.group = group  # a group of subcommands (listed after the plain commands, as typer does)


# In the order the modules are registered.
TOP_COMMANDS = (
    TopCommand(
        "validate",
        "config_cmds",
        "Check the project file; report every problem at once with its line, or summarise its deployments.",
    ),
    TopCommand(
        "schema", "config_cmds", "Print the JSON Schema that validates deploy.yaml (for editors: see the README)."
    ),
    TopCommand("init", "config_cmds", "Write a commented starter deploy.yaml (and its sample flow) that validates."),
    TopCommand(
        "deploy",
        "deploy_cmds",
        "Validate the file, run build and push steps, and register its deployments (all or nothing).",
    ),
    TopCommand("deployment", "deploy_cmds", "Registered deployments.", group=True),
    TopCommand(
        "work-pool",
        "pool_cmds",
        "Work pools: where deployments send their runs, and how workers run them (process, docker).",
        group=True,
    ),
    TopCommand(
        "work-queue",
        "queue_cmds",
        "Work queues: the queues of a pool; lower priority numbers are served first.",
        group=True,
    ),
    TopCommand(
        "variable",
        "value_cmds",
        "Stored variables: JSON values that templates read as {{ prefect.variables.NAME }}.",
        group=True,
    ),
    TopCommand(
        "block",
        "value_cmds",
        "Blocks: named documents (credentials, secrets) that templates read as {{ prefect.blocks.TYPE.NAME }}.",
        group=True,
    ),
    TopCommand("run", "run_cmds", "Queue a run of a deployment (SCHEDULED); a worker of its pool picks it up."),
    TopCommand(
        "flow-run",
        "run_cmds",
        "Flow runs: list, inspect, read or follow their logs, watch, cancel, retry, and why one waits.",
        group=True,
    ),
    TopCommand(
        "worker",
        "worker_cmds",
        "Workers: claim a pool's runs and execute them as processes or containers.",
        group=True,
    ),
    TopCommand(
        "scheduler",
        "scheduler_cmds",
        "Create scheduled runs up to a horizon, cancel missed ones by each deployment's catch_up policy, repeat.",
    ),
    TopCommand(
        "ui",
        "ui_cmds",
        "Serve the web dashboard over the store: pools, workers, deployments, runs and their live logs.",
    ),
    TopCommand(
        "store",
        "store_cmds",
        "The store: show it (info), bring its schema up to date (migrate), copy it to another store (copy),"
        " the key of its secrets (new-key, rotate-key), PostgreSQL roles (grant).",
        group=True,
    ),
)

# The top-level command or group name -> the module under deploytool.cli that registers it.
COMMAND_MODULES = {command.name: command.module for command in TOP_COMMANDS}


def top_help(width: int | None = None) -> str:
    """`deploytool --help`, as typer draws it with cli/helpformat.py, without importing typer."""
    width = help_width() if width is None else width
    listed = [c for c in TOP_COMMANDS if not c.group] + [c for c in TOP_COMMANDS if c.group]
    return assemble(
        [
            ("usage", usage_lines("deploytool", "[OPTIONS] COMMAND [ARGS]...", width)),
            ("text", text_lines(ROOT_HELP, width)),
            ("panel", panel("Options", ROOT_OPTIONS, width)),
            ("panel", panel("Commands", [(c.name, c.summary) for c in listed], width)),
        ]
    )


def print_top_help() -> None:
    sys.stdout.write(top_help())
    sys.stdout.flush()


def command_help(words: list[str], width: int | None = None) -> str | None:
    """The help screen of the command `words` (`["work-pool", "ls"]`) without typer, or None when there is none
    stored for it or its sources changed since it was stored (typer draws it then)."""
    module = COMMAND_MODULES.get(words[0]) if words else None
    if module is None:
        return None
    from deploytool.cli.help_screens import FINGERPRINTS, SCREENS

    screen = SCREENS.get(" ".join(words))
    if screen is None or FINGERPRINTS.get(module) != help_fingerprint(module):
        return None
    return draw(screen, help_width() if width is None else width)
