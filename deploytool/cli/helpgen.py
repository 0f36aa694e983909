"""Writes cli/help_screens.py: every command's help screen as typer records it, for `--help` without typer; and
cli/command_table.py: every command's parameters (cli/tablegen.py), for parsing a command without typer.

    python -m deploytool.cli.helpgen           # write the files again after changing a command or its help
    python -m deploytool.cli.helpgen --check   # exit 1 when a file is out of date

A screen is recorded by running the command's `--help` through the typer application (cli/app.py) and keeping
the blocks cli/helpformat.py drew it from, so the stored screen is what typer prints, at any width.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import typer.main
from typer.core import TyperGroup

from deploytool.cli.app import build_app
from deploytool.cli.commands import COMMAND_MODULES
from deploytool.cli.helpbox import Block
from deploytool.cli.helpformat import BoxHelpFormatter
from deploytool.cli.sources import help_fingerprint

SCREENS_FILE = Path(__file__).with_name("help_screens.py")
REGENERATE = "python -m deploytool.cli.helpgen"

HEADER = f'''"""Every command's help screen, recorded from typer by cli/helpgen.py: do not edit.

Written by `{REGENERATE}`; tests/cli/test_help.py fails while it is out of date.
A command's screens are used only while its FINGERPRINTS entry matches its sources (cli/commands.py,
`command_help`); otherwise typer draws its help, as it would without this file.
"""

from __future__ import annotations

from deploytool.cli.helpbox import Block
'''


def command_paths() -> list[list[str]]:
    """Every visible command and group below the top level, as the words that name it, in the order of the table."""
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        if isinstance(command, TyperGroup):
            for name, sub in sorted(command.commands.items()):
                if not sub.hidden:
                    walk(sub, [*path, name])

    root = typer.main.get_command(build_app(None))
    assert isinstance(root, TyperGroup)
    for name in COMMAND_MODULES:
        walk(root.commands[name], [name])
    return paths


def record(words: list[str]) -> tuple[Block, ...]:
    """The blocks of `deploytool WORDS --help`, as typer draws it."""
    BoxHelpFormatter.last_blocks = ()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        build_app(words[0])(args=[*words, "--help"], prog_name="deploytool")
    blocks = _drawn()
    if not blocks:
        raise RuntimeError(f"`deploytool {' '.join(words)} --help` drew no help screen")
    return blocks


def _drawn() -> tuple[Block, ...]:
    return BoxHelpFormatter.last_blocks


def screens_source() -> str:
    """The text of cli/help_screens.py for the sources as they are now."""
    fingerprints = {module: help_fingerprint(module) for module in dict.fromkeys(COMMAND_MODULES.values())}
    screens = {" ".join(words): record(words) for words in command_paths()}
    return "".join(
        [
            f"{HEADER}\n",
            "# help_fingerprint() of each command module when its screens were recorded.\n",
            "FINGERPRINTS: dict[str, int | None] = {\n",
            *(f"    {module!r}: {fingerprint!r},\n" for module, fingerprint in fingerprints.items()),
            "}\n\n",
            "# `deploytool WORDS --help` -> its blocks (cli/helpbox.py, `draw`), one command a line.\n",
            "SCREENS: dict[str, tuple[Block, ...]] = {\n",
            *(f"    {words!r}: {blocks!r},\n" for words, blocks in screens.items()),
            "}\n",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from deploytool.cli.tablegen import TABLE_FILE, table_source

    stale = 0
    for path, source in ((SCREENS_FILE, screens_source()), (TABLE_FILE, table_source())):
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if source == current:
            continue
        if args == ["--check"]:
            print(f"{path} is out of date: run `{REGENERATE}`", file=sys.stderr)
            stale = 1
        else:
            path.write_text(source, encoding="utf-8")
            print(f"wrote {path}")
    return stale


if __name__ == "__main__":
    raise SystemExit(main())
