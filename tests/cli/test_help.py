"""Help screens: drawn in panels without rich, the top-level one without typer, and the same either way."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import pytest

from deploytool.cli.app import build_app
from deploytool.cli.commands import TOP_COMMANDS, top_help

HEAVY = ("typer", "click", "rich", "markdown_it", "pygments")


def _typer_help(args: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        build_app(None)(args=args, prog_name="deploytool")
    assert done.value.code in (0, None)
    return out.getvalue()


@pytest.mark.parametrize("columns", ["80", "60", "200"])
def test_the_top_level_help_from_the_table_is_what_typer_draws(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert top_help() == _typer_help(["--help"])


def test_the_table_names_every_top_level_command_once() -> None:
    names = [command.name for command in TOP_COMMANDS]
    assert len(names) == len(set(names))
    for command in TOP_COMMANDS:
        assert f"│ {command.name} " in top_help(width=200)


def _run(code: str) -> tuple[str, set[str]]:
    probe = f"{code}\nimport sys\nprint('MODULES', ' '.join(sorted(sys.modules)))"
    env = {**os.environ, "COLUMNS": "80"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env).stdout
    text, _, modules = out.rpartition("MODULES ")
    return text, {name.split(".")[0] for name in modules.split()}


def test_deploytool_help_imports_no_cli_framework() -> None:
    text, loaded = _run("from deploytool.cli.entry import main\nassert main(['--help']) == 0")
    assert "Usage: deploytool [OPTIONS] COMMAND [ARGS]..." in text
    assert "╭─ Commands" in text and "│ work-pool " in text
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_a_group_s_help_and_a_usage_error_import_no_rich() -> None:
    text, loaded = _run(
        "from deploytool.cli.entry import main\nassert main(['work-pool', '--help']) == 0\n"
        "assert main(['work-pool', 'ls', '--bogus']) == 2"
    )
    assert "Usage: deploytool work-pool [OPTIONS] COMMAND [ARGS]..." in text
    assert "╭─ Commands" in text and "│ get-default-base-job-template  Print the default" in text
    assert loaded.isdisjoint({"rich", "markdown_it", "pygments"}), loaded & {"rich", "markdown_it", "pygments"}


def test_long_descriptions_wrap_inside_their_panel() -> None:
    for line in _typer_help(["run", "--help"]).splitlines():
        assert len(line) <= 80, line
    for line in top_help(width=60).splitlines():
        assert len(line) <= 60, line


# --- `deploytool COMMAND ... --help` from the stored screens (cli/help_screens.py), without typer ---------------


def test_the_stored_help_screens_are_up_to_date() -> None:
    from deploytool.cli import helpgen

    current = helpgen.SCREENS_FILE.read_text(encoding="utf-8")
    assert helpgen.screens_source() == current, f"cli/help_screens.py is out of date: run `{helpgen.REGENERATE}`"


def test_every_command_s_stored_help_is_what_typer_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    from deploytool.cli.commands import command_help
    from deploytool.cli.helpgen import REGENERATE, command_paths

    paths = command_paths()
    assert ["worker", "start"] in paths and ["work-pool"] in paths and ["validate"] in paths
    for columns in ("80", "60", "200"):
        monkeypatch.setenv("COLUMNS", columns)
        for words in paths:
            stored = command_help(words)
            assert stored is not None, f"no stored help for `{' '.join(words)}`: run `{REGENERATE}`"
            assert stored == _typer_help([*words, "--help"]), (words, columns)


def test_a_command_s_help_imports_no_cli_framework() -> None:
    text, loaded = _run(
        "from deploytool.cli.entry import main\nassert main(['worker', 'start', '--help']) == 0\n"
        "assert main(['work-pool', '-h']) == 0"
    )
    assert "Usage: deploytool worker start [OPTIONS]" in text and "│ -p, --pool <str> " in text
    assert "Usage: deploytool work-pool [OPTIONS] COMMAND [ARGS]..." in text
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
    assert not any(module.endswith("_cmds") for module in loaded)


def test_a_changed_command_module_s_help_is_drawn_by_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored screen whose sources changed since it was recorded is never shown: typer draws the help."""
    from deploytool.cli import help_screens
    from deploytool.cli.commands import command_help
    from deploytool.cli.entry import main

    monkeypatch.setitem(help_screens.FINGERPRINTS, "worker_cmds", 0)
    monkeypatch.setitem(help_screens.SCREENS, "worker start", (("usage", "deploytool worker start", "STALE"),))
    assert command_help(["worker", "start"]) is None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["worker", "start", "--help"]) == 0
    assert "STALE" not in out.getvalue()
    assert "Usage: deploytool worker start [OPTIONS]" in out.getvalue()


def test_help_after_arguments_or_of_unknown_commands_is_typer_s(capsys: pytest.CaptureFixture[str]) -> None:
    from deploytool.cli.commands import command_help
    from deploytool.cli.entry import main

    assert command_help(["work-pool", "ls", "-o", "json"]) is None
    assert command_help(["--store", "sqlite:///x.db", "work-pool"]) is None
    assert command_help(["no-such-command"]) is None
    assert main(["work-pool", "ls", "-o", "json", "--help"]) == 0
    assert "Usage: deploytool work-pool ls [OPTIONS]" in capsys.readouterr().out
    assert main(["no-such-command", "--help"]) == 2
    assert "No such command 'no-such-command'" in capsys.readouterr().err
