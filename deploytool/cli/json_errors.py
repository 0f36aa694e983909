"""In `--output json` mode, an error is still a JSON envelope on stdout (ok: false), so CI can parse it."""

from __future__ import annotations

from contextlib import contextmanager

from deploytool.cli.output import OutputFormat, issue_to_json, print_error, print_json
from deploytool.cli.params import Exit
from deploytool.errors import ConfigError, DeploytoolError

TYPE_CHECKING = False  # not typing's: every command that can print JSON imports this at its start
if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def json_errors(kind: str, output: OutputFormat) -> Iterator[None]:
    """Inside the block, a DeploytoolError in json mode prints {"ok": false, "errors": [{message, hint}]}
    with `kind` on stdout and the usual message on stderr, then exits with its code. In text mode it
    passes through to the CLI's error boundary."""
    try:
        yield
    except DeploytoolError as exc:
        if output != OutputFormat.json:
            raise
        if isinstance(exc, ConfigError):
            errors = [{"type": "ConfigIssue", **issue_to_json(issue)} for issue in exc.issues]
        else:
            errors = [{"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}]
        print_json(kind, None, ok=False, errors=errors)
        print_error(exc)
        raise Exit(exc.exit_code) from None
