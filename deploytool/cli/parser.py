"""Parsing a command's arguments without typer, from the table cli/helpgen.py records (cli/command_table.py).

`deploytool work-pool ls -o json` is parsed here and `pool_cmds.ls(output=OutputFormat.json)` is called: no typer,
no click, no other command module. The rules are click's (the parser typer uses), so that what is accepted and
what each parameter receives are the same either way (tests/cli/test_parser.py holds every command to typer's
parse): options anywhere among the arguments, `--opt=value`, `-ovalue`, short flags together (`-fv`), `--` ends
the options, a repeated option keeps its last value (every value, when it is repeatable).

Whatever is not a valid call is left to typer, which says what is wrong exactly as it always has (a usage error:
unknown option, missing value, bad number or choice, missing or extra argument), as is `--help` among the
arguments, an unknown or incomplete command, a root option other than `--store`, and every command whose
recorded table is out of date (its sources changed since cli/helpgen.py wrote it: cli/sources.py).
Standard library only.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: this runs at every start of a command
if TYPE_CHECKING:
    from typing import Any, TextIO

    # A parameter as the table records it: (name, kind: "option" | "flag" | "argument", its names, its secondary
    # names (flags: they set False), type: "str" | "int" | "float" | "path" | "choice", many: an option's
    # `multiple` (0/1) or an argument's nargs (1/-1), required, extra: an int's (min, max), a choice's
    # ("module:Enum", values)).
    Param = tuple[str, str, tuple[str, ...], tuple[str, ...], str, int, bool, tuple[Any, ...]]
    # A command: (the module of its group, the module of its function, the function's name, its parameters);
    # modules are under deploytool.cli.
    Entry = tuple[str, str, str, tuple[Param, ...]]

HELP_NAMES = ("-h", "--help")
# benchmarks/bench_cli.py: the file to write the CPU and monotonic time at which the command's function is called.
STARTUP_ENV = "DEPLOYTOOL_BENCH_STARTUP_FILE"
STORE_OPTION = "--store"


class Call:
    """A parsed command: the function to call, with the values of its parameters, and the global --store."""

    __slots__ = ("command", "function", "kwargs", "module", "store")

    def __init__(self, command: str, module: str, function: str, kwargs: dict[str, Any], store: str | None) -> None:
        self.command = command  # "work-pool ls"
        self.module = module  # "pool_cmds"
        self.function = function
        self.kwargs = kwargs
        self.store = store


class _Typer(Exception):
    """Not a plain valid call: typer parses it (and words what is wrong)."""


def parse_command(args: list[str]) -> Call | None:
    """The call `deploytool ARGS` makes, or None when typer should take it."""
    store = None
    i = 0
    while i < len(args) and args[i][:1] == "-" and len(args[i]) > 1:  # the root's options
        if args[i] == "--":
            i += 1
            break
        if args[i] == STORE_OPTION and i + 1 < len(args):
            store = args[i + 1]
            i += 2
        elif args[i].startswith(STORE_OPTION + "="):
            store = args[i][len(STORE_OPTION) + 1 :]
            i += 1
        else:
            return None
    from deploytool.cli.command_table import COMMANDS, FINGERPRINTS
    from deploytool.cli.sources import help_fingerprint

    words = args[i : i + 1]
    entry = COMMANDS.get(" ".join(words))
    if entry is None and i + 1 < len(args):
        words = args[i : i + 2]
        entry = COMMANDS.get(" ".join(words))
    if entry is None:
        return None
    group_module, module, function, params = entry
    for source in dict.fromkeys((group_module, module)):
        if FINGERPRINTS.get(source) != help_fingerprint(source):
            return None  # changed since recorded: typer reads the signatures as they are now
    try:
        kwargs = parse_parameters(args[i + len(words) :], params)
    except _Typer:
        return None
    return Call(" ".join(words), module, function, kwargs, store)


def parse_parameters(args: list[str], params: tuple[Param, ...]) -> dict[str, Any]:
    """The function's keyword arguments from the command's ARGS; those not given are left to their defaults.
    Raises _Typer for anything but a valid call. click's OptionParser, step by step."""
    names: dict[str, Param | None] = dict.fromkeys(HELP_NAMES)  # None: the help option
    for param in params:
        for name in (*param[2], *param[3]):
            names[name] = param
    found: dict[str, Any] = {}
    largs: list[str] = []
    rargs = list(args)
    while rargs:
        arg = rargs.pop(0)
        if arg == "--":
            break
        if arg[:1] == "-" and len(arg) > 1:
            _option(arg, rargs, names, found)
        else:
            largs.append(arg)
    positional = largs + rargs
    arguments = [param for param in params if param[1] == "argument"]
    values, extra = _unpack(positional, [param[5] for param in arguments])
    if extra:
        raise _Typer  # "Got unexpected extra argument(s)"
    for param, value in zip(arguments, values, strict=True):
        if value is not None and value != ():
            found[param[0]] = value
    kwargs: dict[str, Any] = {}
    for param in params:
        name, kind, _, _, _, many, required, _ = param
        if name not in found:
            if required:
                raise _Typer  # "Missing option" / "Missing argument"
            continue  # the function's default, as typer passes it
        value = found[name]
        if kind == "flag":
            kwargs[name] = value
        elif (kind == "argument" and many == -1) or (kind == "option" and many == 1):
            kwargs[name] = [_convert(item, param) for item in value]  # typer passes a list
        else:
            kwargs[name] = _convert(value, param)
    return kwargs


def _is_short(name: str) -> bool:
    """`-o` (not `--output`, nor `-jv`, which click takes as a long option)."""
    return len(name) == 2 and name[0] == "-" and name[1] != "-"


def _option(arg: str, rargs: list[str], names: dict[str, Param | None], found: dict[str, Any]) -> None:
    name, equals, explicit = arg.partition("=")
    if name in names and not _is_short(name):
        param = names[name]
        if param is None:
            raise _Typer  # --help
        if param[1] == "flag":
            if equals:
                raise _Typer  # "Option '--x' does not take a value."
            _store(param, name, None, found)
            return
        if equals:
            rargs.insert(0, explicit)
        _store(param, name, _value(rargs), found)
        return
    if arg[:2] == "--":
        raise _Typer  # "No such option" (with click's did-you-mean)
    prefix = arg[0]
    for index in range(1, len(arg)):
        short = prefix + arg[index]
        if short not in names or not _is_short(short):
            raise _Typer  # "No such option"
        param = names[short]
        if param is None:
            raise _Typer  # -h
        if param[1] == "flag":
            _store(param, short, None, found)
            continue
        if index + 1 < len(arg):
            rargs.insert(0, arg[index + 1 :])  # -ojson
        _store(param, short, _value(rargs), found)
        return


def _value(rargs: list[str]) -> str:
    if not rargs:
        raise _Typer  # "Option '-o' requires an argument."
    return rargs.pop(0)


def _store(param: Param, name: str, value: str | None, found: dict[str, Any]) -> None:
    if param[1] == "flag":
        found[param[0]] = name not in param[3]
    elif param[5]:
        found.setdefault(param[0], []).append(value)
    else:
        found[param[0]] = value


def _unpack(args: list[str], spec: list[int]) -> tuple[list[Any], list[str]]:
    """click's _unpack_args for nargs 1 and -1: each argument's value (None: not given), and what is left over."""
    star = spec.index(-1) if -1 in spec else None
    if star is None:
        values: list[Any] = [args[i] if i < len(args) else None for i in range(len(spec))]
        return values, args[len(spec) :]
    after = len(spec) - star - 1
    head = [args[i] if i < len(args) else None for i in range(star)]
    rest = args[star:]
    tail_count = min(after, len(rest))
    tail = [None] * (after - tail_count) + rest[len(rest) - tail_count :]
    middle = tuple(rest[: len(rest) - tail_count])
    return [*head, middle, *tail], []


def _convert(value: str, param: Param) -> Any:
    kind, extra = param[4], param[7]
    if kind == "str":
        return value
    if kind == "int":
        try:
            number = int(value)
        except ValueError:
            raise _Typer from None  # "'x' is not a valid int."
        low, high = extra or (None, None)
        if (low is not None and number < low) or (high is not None and number > high):
            raise _Typer  # "... is not in the range"
        return number
    if kind == "float":
        try:
            return float(value)
        except ValueError:
            raise _Typer from None
    if kind == "choice":
        enum_name, choices = extra
        if value not in choices:
            raise _Typer  # "'xml' is not one of 'text', 'json'."
        module, _, name = enum_name.partition(":")
        return getattr(_module(module), name)(value)
    if kind == "path":
        try:
            if os.path.exists(value) and not os.access(value, os.R_OK):
                raise _Typer  # click.Path(readable=True): "... is not readable."
        except ValueError:
            raise _Typer from None
        from pathlib import Path

        return Path(value)
    raise _Typer


def use_store(url: str) -> None:
    """The global `--store URL`: every store this process and the processes it starts open is that one."""
    from deploytool.settings import STORE_URL_ENV

    os.environ[STORE_URL_ENV] = url  # read by Settings.from_env()


def invoke(call: Call) -> int:
    """Call the parsed command's function as typer would: its exit code, with Ctrl-C, a closed pipe, an end of
    input and a usage error the command finds itself handled as typer (click) handles them. Other errors go to
    the caller (cli/entry.py, the error boundary)."""
    from deploytool.cli.params import BadParameter

    if call.store is not None:
        use_store(call.store)
    function = getattr(_module(f"deploytool.cli.{call.module}"), call.function)
    if STARTUP_ENV in os.environ:
        _record_startup(os.environ[STARTUP_ENV])
    try:
        function(**call.kwargs)
    except EOFError:
        print(file=sys.stderr)
        print("Aborted!", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BadParameter as exc:
        _usage_error(call.command, f"Invalid value for {exc.param_hint}: {exc.message}")
        return 2
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = _quiet_flush(sys.stdout)
        sys.stderr = _quiet_flush(sys.stderr)
        return 1
    return 0


def _module(name: str) -> Any:
    """The module `name` (dotted), imported: importlib.import_module's result without importing importlib (and
    warnings) at every command's start."""
    __import__(name)
    return sys.modules[name]


def _record_startup(path: str) -> None:
    """`CPU-seconds MONOTONIC-seconds` of this process, now, into `path` (the start-up bench_cli.py reports)."""
    import time

    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"{time.process_time()} {time.monotonic()}\n")


def _usage_error(command: str, message: str) -> None:
    """click's UsageError.show: the usage line, where to find help, and the error."""
    from deploytool.cli.help_screens import SCREENS
    from deploytool.cli.helpbox import draw, help_width

    usage = draw(SCREENS[command][:1], help_width()).rstrip("\n")  # as click.Context.get_usage
    print(f"{usage}\nTry 'deploytool {command} {HELP_NAMES[0]}' for help.\n", file=sys.stderr)
    print(f"Error: {message}", file=sys.stderr)


class _QuietFlush:
    """click's PacifyFlushWrapper: the interpreter's last flush of a closed pipe says nothing."""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:  # noqa: SIM105 (contextlib is not imported at every start)
            self.wrapped.flush()
        except BrokenPipeError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _quiet_flush(stream: TextIO) -> TextIO:
    from typing import cast

    return cast("TextIO", _QuietFlush(stream))  # a proxy of the stream
