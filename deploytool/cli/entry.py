"""The console script's entry point and the CLI's single error boundary.

Kept free of heavy imports: `deploytool --version` and `deploytool --help` answer before typer is imported, and a
command is parsed from its recorded table (cli/parser.py) and run with only its own module imported; typer parses
what the table does not cover (shell completion, usage errors, a table out of date: cli/parser.py says which).
"""

from __future__ import annotations

import os
import sys

from deploytool import __version__

TYPE_CHECKING = False  # not typing's: `--version` and `--help` import only what they use
if TYPE_CHECKING:
    from pathlib import Path

DEBUG_ENV = "DEPLOYTOOL_DEBUG"
# Set by the shell completion script (`deploytool --install-completion`) when it asks for completions.
COMPLETE_ENV = "_DEPLOYTOOL_COMPLETE"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args and COMPLETE_ENV not in os.environ:
        args = ["--help"]  # `deploytool` alone: the help, and exit 0 (click's no_args_is_help exits 2)
    if args in (["--version"], ["-V"]):
        print(f"deploytool {__version__}")
        return 0
    if args in (["--help"], ["-h"]) and COMPLETE_ENV not in os.environ:
        from deploytool.cli.commands import print_top_help  # drawn from a table: no typer, no command module

        try:
            print_top_help()
        except BrokenPipeError:  # `deploytool --help | head`
            return 0
        return 0
    if len(args) > 1 and args[-1] in ("--help", "-h") and COMPLETE_ENV not in os.environ:
        from deploytool.cli.commands import command_help  # stored screens: no typer, no command module

        screen = command_help(args[:-1])
        if screen is not None:
            try:
                sys.stdout.write(screen)
                sys.stdout.flush()
            except BrokenPipeError:
                return 0
            return 0
    from deploytool.cli.params import Exit
    from deploytool.errors import EXIT_INTERRUPTED, EXIT_USAGE, DeploytoolError

    undecodable = _undecodable_argument(args)
    if undecodable is not None:
        print(f"Error: {undecodable}", file=sys.stderr)
        print("  hint: give text in UTF-8 (check the terminal's or the script's encoding)", file=sys.stderr)
        return EXIT_USAGE
    call = None
    if COMPLETE_ENV not in os.environ:
        from deploytool.cli.parser import parse_command  # the recorded table: no typer, one command module

        call = parse_command(args)
    try:
        if call is not None:
            from deploytool.cli.parser import invoke

            return invoke(call)
        from deploytool.cli.app import build_app

        # The first word that is not an option (nor the value of the global --store).
        command = next((a for i, a in enumerate(args) if a[:1] != "-" and args[i - 1 : i] != ["--store"]), None)
        build_app(command)(args=args, prog_name="deploytool")
    except SystemExit as exc:
        return _exit_code(exc.code)
    except Exit as exc:  # a command's own exit code, after it said why (cli/params.py)
        return exc.code
    except DeploytoolError as exc:
        from deploytool.cli.output import print_error

        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `deploytool ... | head` closed the pipe: not an error worth a message.
        return 0
    except Exception as exc:  # the last line of defence: never a bare traceback
        return _internal_error(exc, args)
    return 0


def _undecodable_argument(args: list[str]) -> str | None:
    """What is wrong with the first argument that is not valid UTF-8 (Python keeps such bytes as surrogates,
    which no store, file or terminal accepts), or None."""
    for number, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            option = args[number - 2] if number > 1 and args[number - 2].startswith("-") else None
            after = f" (the value of {option})" if option else ""
            return f"argument {number} '{shown}'{after} is not valid UTF-8 text"
    return None


def _exit_code(code: object) -> int:
    from deploytool.errors import EXIT_ERROR

    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_ERROR


def _internal_error(exc: BaseException, args: list[str]) -> int:
    import traceback

    from deploytool.errors import EXIT_ERROR
    from deploytool.redaction import process_redactor
    from deploytool.store import redact_urls

    redact = process_redactor()  # secrets this process handled (a worker's runs') stay hidden here too
    text = redact_urls(redact("".join(traceback.format_exception(exc))))  # and a store URL's password
    if os.environ.get(DEBUG_ENV):
        sys.stderr.write(text)
        return EXIT_ERROR
    log = _write_crash_log(text, args)
    where = f"the traceback is in {log}" if log else "set DEPLOYTOOL_DEBUG=1 to see the traceback"
    print(
        f"deploytool: internal error: {type(exc).__name__}: {redact_urls(redact(str(exc)))}\n"
        f"This is a bug in deploytool, not in your project; {where}. Please report it.",
        file=sys.stderr,
    )
    return EXIT_ERROR


def _write_crash_log(text: str, args: list[str]) -> Path | None:
    from deploytool.settings import Settings
    from deploytool.store import redact_urls

    text = redact_urls(text)  # a store URL's password (in a message the traceback quotes)
    # Only the command's words (`worker start`): argument values may be secrets, paths or names, never on disk.
    words = []
    for arg in args[:2]:
        if not arg.replace("-", "").isalpha() or arg.startswith("-"):
            break
        words.append(arg)
    command = " ".join(["deploytool", *words]) + (" (arguments not logged)" if len(args) > len(words) else "")
    try:
        home = Settings.from_env().home
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = home / "crash.log"
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # an older crash.log may have been created readable by others
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(f"deploytool {__version__}: {command}\n{text}\n")
    except OSError:
        return None
    return log
