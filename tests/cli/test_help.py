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
