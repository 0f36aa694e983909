"""Exceptions that reach the user, and the exit codes they map to.

Every error a user can cause is a DeploytoolError: it carries a message, an optional hint saying what to do,
and an exit code. The CLI's single error boundary prints these without a traceback.
"""

from __future__ import annotations

from deploytool.records import field, record

TYPE_CHECKING = False  # not typing's: `import typing` costs every command a few ms
if TYPE_CHECKING:
    from collections.abc import Iterable

EXIT_OK = 0
EXIT_ERROR = 1  # a config, input or state error the user can fix
EXIT_USAGE = 2  # bad command-line usage (typer/click's own code)
EXIT_INTERRUPTED = 130


def close_matches(word: object, candidates: Iterable[object], n: int = 1) -> list[str]:
    """The candidates (as text) that look like a mistyping of `word`, closest first, at most `n`."""
    import difflib  # only when there is a mistake to explain

    return difflib.get_close_matches(str(word), [str(c) for c in candidates], n=n, cutoff=0.6)


def did_you_mean(word: object, candidates: Iterable[object]) -> str | None:
    """The hint `did you mean 'x'?` when a candidate is close to `word`; None when none is. The one helper for
    every did-you-mean deploytool gives (config keys, steps, filters, parameters, names of stored things)."""
    close = close_matches(word, candidates)
    return f"did you mean {close[0]!r}?" if close else None


class DeploytoolError(Exception):
    """An error with a message for the user, an optional hint and an exit code."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(DeploytoolError):
    """Options that cannot be used together, or an option's value that cannot be used at all."""

    exit_code = EXIT_USAGE


@record(order=True)
class ConfigIssue:
    """One problem found in a project file, at a position.

    Sorted by (file, line, column) so that a report reads top to bottom.
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = field(default=None, compare=False)
    severity: str = field(default="error", compare=False)  # "error" or "warning"

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        prefix = "warning: " if self.severity == "warning" else ""
        path = f"{self.path}: " if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}: {prefix}{path}{self.message}{hint}"


class ConfigError(DeploytoolError):
    """A project file is invalid. Carries every issue found, not just the first."""

    def __init__(self, issues: list[ConfigIssue], file: str | None = None) -> None:
        self.issues = sorted(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        noun = "error" if len(errors) == 1 else "errors"
        where = f" in {file}" if file else ""
        super().__init__(f"{len(errors)} {noun}{where}")


class TemplateError(DeploytoolError):
    """A placeholder could not be resolved or was refused by the sandbox."""


class StepError(DeploytoolError):
    """A build, push or pull step failed."""


class NotFoundError(DeploytoolError):
    """A named thing (pool, deployment, run, variable, block) does not exist."""


class ConflictError(DeploytoolError):
    """The request conflicts with what is stored (e.g. a name is taken, an active run blocks a delete)."""


class StoreUnavailableError(DeploytoolError):
    """The store did not answer (a PostgreSQL server restarting or out of reach, a SQLite file locked too long):
    the change was not made (or, when the connection dropped while a COMMIT was answered, its outcome is unknown:
    callers that send it again make it idempotent), and the same call may succeed later."""


class InfraError(DeploytoolError):
    """The infrastructure (a process, the Docker daemon, a registry) failed."""
