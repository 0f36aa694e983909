"""How a command is declared, without typer: its options and arguments, and the group that holds it.

A command module writes its parameters as `name: Annotated[TYPE, Option("--name", "-n", help=...)] = DEFAULT`
(with `from __future__ import annotations`, so nothing of it is evaluated at import) and records its functions
in a `Group`, whose decorator returns each function unchanged. Nothing here imports typer: a normal command is
parsed by cli/parser.py from the table cli/helpgen.py records (cli/command_table.py) and its function called
directly; cli/app.py builds the typer application from the groups only when typer is needed (shell completion,
a table out of date, helpgen, tests). Standard library only, and nothing imported at import.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: command modules import this at every start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


class Option:
    """An option: its names (`"--output", "-o"`), help text (or a function that returns it, called only when a
    help screen is made), metavar, an int range, whether help shows the default."""

    __slots__ = ("decls", "help", "max", "metavar", "min", "show_default")

    def __init__(
        self,
        *decls: str,
        help: str | Callable[[], str] | None = None,
        metavar: str | None = None,
        min: int | None = None,
        max: int | None = None,
        show_default: bool = True,
    ) -> None:
        self.decls = decls
        self.help = help
        self.metavar = metavar
        self.min = min
        self.max = max
        self.show_default = show_default


class Argument:
    """A positional argument: its help text and metavar."""

    __slots__ = ("help", "metavar")

    def __init__(self, *, help: str | None = None, metavar: str | None = None) -> None:
        self.help = help
        self.metavar = metavar


class Command:
    """A command as a group holds it: the name it is called by, its function (or `"module:name"` of a function
    another module holds, imported when the application is built), the epilog of its help."""

    __slots__ = ("epilog", "function", "name")

    def __init__(self, name: str, function: Callable[..., Any] | str, epilog: str | None) -> None:
        self.name = name
        self.function = function
        self.epilog = epilog

    def target(self) -> Callable[..., Any]:
        """The command's function (imported, when it is named by `"module:name"`)."""
        if not isinstance(self.function, str):
            return self.function
        import importlib

        module, _, attribute = self.function.partition(":")
        function: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
        return function


class Group:
    """The commands of a group (`work-pool`: name and help), or top-level commands (no name)."""

    __slots__ = ("commands", "help", "name")

    def __init__(self, name: str | None = None, help: str | Callable[[], str] | None = None) -> None:
        self.name = name
        self.help = help
        self.commands: list[Command] = []

    def command(self, name: str | None = None, *, epilog: str | None = None) -> Callable[[F], F]:
        """Record the decorated function as the command `name` (default: its name with `-` for `_`)."""

        def record(function: F) -> F:
            self.add(function, name, epilog=epilog)
            return function

        return record

    def add(self, function: Callable[..., Any] | str, name: str | None = None, *, epilog: str | None = None) -> None:
        if isinstance(function, str):
            if name is None:
                raise ValueError(f"the command {function!r} needs a name")
            command = name
        else:
            command = name or function.__name__.lower().replace("_", "-")
        if not any(c.name == command for c in self.commands):
            self.commands.append(Command(command, function, epilog))


class Exit(RuntimeError):
    """End the command with this exit code (after it printed what it had to say)."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(code)
        self.code = code


class BadParameter(Exception):
    """A usage error found by the command itself: click words it as `Invalid value for HINT: MESSAGE` (exit 2)."""

    def __init__(self, message: str, param_hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.param_hint = param_hint


# The `--output/-o` option of every command that can print JSON.
OUTPUT = Option("--output", "-o", help="text or json.")
