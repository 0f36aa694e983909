"""Records every command's parameters as typer makes them, for cli/parser.py (written to cli/command_table.py).

`python -m deploytool.cli.helpgen` writes this table with the help screens. Each parameter is read from the click
command typer builds (cli/app.py), so the table says what typer would parse; a parameter of a kind cli/parser.py
does not parse as click does (an environment variable, a callback, a counter, several values per option, a path
that must exist...) stops the generator with its name rather than being recorded half right.
"""

from __future__ import annotations

import importlib
from enum import Enum
from pathlib import Path
from typing import Any

import typer.main
from typer._click import types as click_types
from typer._types import TyperChoice
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.models import TyperPath

from deploytool.cli.app import build_app, declared_parameters
from deploytool.cli.commands import COMMAND_MODULES
from deploytool.cli.sources import help_fingerprint

TABLE_FILE = Path(__file__).with_name("command_table.py")

HEADER = '''"""Every command's parameters, recorded from typer by cli/tablegen.py: do not edit.

Written by `python -m deploytool.cli.helpgen`; tests/cli/test_parser.py fails while it is out of date.
A command is parsed from this table (cli/parser.py) only while the FINGERPRINTS entries of its modules match
their sources (cli/sources.py); otherwise typer parses it, as it would without this file.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from deploytool.cli.parser import Entry
'''


def _function(words: list[str]) -> Any:
    """The function the module of `words[0]` declares for the command `words`."""
    module = importlib.import_module(f"deploytool.cli.{COMMAND_MODULES[words[0]]}")
    group_name = words[0] if len(words) == 2 else None
    for group in module.GROUPS:
        if group.name == group_name:
            for command in group.commands:
                if command.name == words[-1]:
                    return command.target()
    raise LookupError(f"`deploytool {' '.join(words)}` is not declared in cli/{COMMAND_MODULES[words[0]]}.py")


def _unsupported(where: str, what: str) -> ValueError:
    return ValueError(f"{where}: {what} is not parsed by cli/parser.py; declare it otherwise or teach the parser")


def record(param: Any, declared: object, where: str) -> tuple[Any, ...]:
    """One parameter of a click command typer made (`declared`: its type in the function's signature), as
    cli/parser.py's table holds it (`Param`)."""
    where = f"{where}, parameter {param.name!r}"
    if param.envvar or param.callback is not None or param.is_eager or not param.expose_value:
        raise _unsupported(where, "an environment variable, a callback or an eager parameter")
    kind_type = param.type
    extra: tuple[Any, ...] = ()
    names: tuple[str, ...]
    secondary: tuple[str, ...]
    if isinstance(param, TyperArgument):
        if param.nargs not in (1, -1):
            raise _unsupported(where, f"nargs={param.nargs}")
        kind, names, secondary, many = "argument", (), (), param.nargs
    elif isinstance(param, TyperOption):
        if param.nargs != 1 or param.count or param.prompt is not None:
            raise _unsupported(where, "several values per option, a counter or a prompt")
        if param.is_flag:
            if not param.is_bool_flag or param.default not in (False, None) or param.multiple:
                raise _unsupported(where, "a flag that is not a plain on/off switch")
            kind = "flag"
        else:
            kind = "option"
        if param.multiple and param.default not in (None, ()):
            raise _unsupported(where, "a repeatable option with a default")
        names, secondary, many = tuple(param.opts), tuple(param.secondary_opts), int(param.multiple)
    else:
        raise _unsupported(where, type(param).__name__)
    if kind == "flag":
        value_type = "bool"
    elif isinstance(kind_type, click_types.IntRange):
        if kind_type.min_open or kind_type.max_open or kind_type.clamp:
            raise _unsupported(where, "an open or clamped range")
        value_type, extra = "int", (kind_type.min, kind_type.max)
    elif kind_type is click_types.INT:
        value_type = "int"
    elif kind_type is click_types.FLOAT:
        value_type = "float"
    elif kind_type is click_types.STRING:
        value_type = "str"
    elif isinstance(kind_type, TyperPath):
        checks = (kind_type.exists, kind_type.file_okay, kind_type.dir_okay, kind_type.readable, kind_type.writable)
        if checks != (False, True, True, True, False) or kind_type.resolve_path or kind_type.allow_dash:
            raise _unsupported(where, "a path with checks other than click.Path's defaults")
        value_type = "path"
    elif isinstance(kind_type, TyperChoice) and kind_type.case_sensitive:
        values = tuple(str(choice) for choice in kind_type.choices)
        if not (isinstance(declared, type) and issubclass(declared, Enum)) or values != tuple(
            str(member.value) for member in declared
        ):
            raise _unsupported(where, "a choice that is not the values of the parameter's Enum")
        value_type, extra = "choice", (f"{declared.__module__}:{declared.__qualname__}", values)
    else:
        raise _unsupported(where, f"the type {kind_type!r}")
    return (param.name, kind, names, secondary, value_type, many, bool(param.required), extra)


def table() -> dict[str, tuple[Any, ...]]:
    """Every command (not group) of the application: `Entry`s by the words that name it."""
    root = typer.main.get_command(build_app(None))
    assert isinstance(root, TyperGroup)
    entries: dict[str, tuple[Any, ...]] = {}

    def walk(command: Any, words: list[str]) -> None:
        if isinstance(command, TyperGroup):
            for name, sub in sorted(command.commands.items()):
                walk(sub, [*words, name])
            return
        function = _function(words)
        module = function.__module__.removeprefix("deploytool.cli.")
        where = f"`deploytool {' '.join(words)}`"
        declared = {parameter.name: kind for parameter, kind, _ in declared_parameters(function)}
        if sorted(declared) != sorted(param.name for param in command.params):
            raise _unsupported(where, "a parameter typer names otherwise than the function")
        params = tuple(record(param, declared[param.name], where) for param in command.params)
        names = [p[0] for p in params]
        if len(set(names)) != len(names):
            raise _unsupported(where, "two parameters of one name")
        entries[" ".join(words)] = (COMMAND_MODULES[words[0]], module, function.__name__, params)

    for name in COMMAND_MODULES:
        walk(root.commands[name], [name])
    return entries


def table_source() -> str:
    """The text of cli/command_table.py for the sources as they are now."""
    entries = table()
    modules = dict.fromkeys(module for entry in entries.values() for module in entry[:2])
    return "".join(
        [
            f"{HEADER}\n",
            "# help_fingerprint() (cli/sources.py) of each module when the table was recorded.\n",
            "FINGERPRINTS: dict[str, int | None] = {\n",
            *(f"    {module!r}: {help_fingerprint(module)!r},\n" for module in modules),
            "}\n\n",
            "# `deploytool WORDS ...` -> (group's module, function's module, function, parameters): cli/parser.py.\n",
            "COMMANDS: dict[str, Entry] = {\n",
            *(f"    {words!r}: {entry!r},\n" for words, entry in entries.items()),
            "}\n",
        ]
    )
