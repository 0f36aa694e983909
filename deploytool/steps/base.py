"""What every step implementation shares: the StepContext it runs in, and running a command with streamed output.

A step implementation is a function `step(ctx, **inputs) -> dict[str, Any]`. Its inputs are the step's rendered
inputs (already checked against the step's JSON schema at deploy time; at run time they come from the store, so
the functions still check the types they rely on). It returns exactly the outputs named in
`registry.STEPS[name].outputs`, and reports failure by raising StepError with a message a user can act on.

This module, and every step that can run as a pull step, imports only the standard library: pull steps run inside
the flow-run job (the engine), whose start-up must not pay for jinja2, jsonschema, yaml or docker.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from deploytool.errors import StepError, did_you_mean
from deploytool.records import field, record
from deploytool.redaction import Redactor
from deploytool.typeforms import Any

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import IO

OutputSink = Callable[[str, str], None]
"""Receives each line a step prints, as (stream, line): stream is "stdout" or "stderr"; the line has no newline."""

TAIL_LINES = 20


StepFunction = Callable[..., dict[str, Any]]
"""`step(ctx, /, **inputs) -> outputs`: a step implementation (see the module docstring)."""


@record(frozen=False)
class StepContext:
    """The world one sequence of steps runs in.

    `cwd` is the directory relative paths resolve against; `set_working_directory` changes it (the process's own
    working directory is never changed by a step, so a deploy or a test is not affected behind its back).
    `env` is the base environment of commands (os.environ when None). `secrets` are values hidden (`***`) from
    every line passed to `on_output`, every error and the output tail; steps add the tokens they are given.
    `tail` keeps the last lines of output, for the error message of a failed step.
    """

    cwd: Path
    on_output: OutputSink | None = None
    env: Mapping[str, str] | None = None
    secrets: set[str] = field(default_factory=set)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    _redactor: Redactor | None = field(default=None, repr=False, compare=False)

    def base_env(self) -> dict[str, str]:
        return dict(os.environ if self.env is None else self.env)

    def add_secret(self, value: str | None) -> None:
        if value:
            self.secrets.add(value)

    def redact(self, text: str) -> str:
        if self._redactor is None or self._redactor.secrets != self.secrets:
            self._redactor = Redactor(self.secrets, remember=True)
        return self._redactor(text)

    def emit(self, stream: str, line: str, *, show: bool = True) -> None:
        """Record a line of output (for the failure tail) and, when `show`, pass it on to the sink."""
        line = self.redact(line)
        self.tail.append(line)
        if show and self.on_output is not None:
            self.on_output(stream, line)

    def resolve(self, path: str | os.PathLike[str] | None) -> Path:
        """`path` made absolute against `cwd` (None means `cwd` itself)."""
        if path is None or str(path) == "":
            return self.cwd
        return (self.cwd / Path(path).expanduser()).resolve()


@record
class ProcessResult:
    returncode: int
    stdout: str
    stderr: str


def run_process(
    argv: Sequence[str],
    ctx: StepContext,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    show: bool = True,
) -> ProcessResult:
    """Run `argv` (never through a shell), streaming each line to `ctx.emit` as it comes, and capture both streams.

    stdin is /dev/null, so a command that would prompt (git asking for a password) fails instead of hanging.
    Raises StepError when the program cannot be started at all.
    """
    import subprocess  # when a step runs a program: `validate` (which loads this module) runs none
    import threading

    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd or ctx.cwd,
            env=dict(env) if env is not None else ctx.base_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except FileNotFoundError:
        raise StepError(f"command not found: {argv[0]}", "is it installed and on PATH?") from None
    except PermissionError:
        raise StepError(f"permission denied running {argv[0]}") from None
    except NotADirectoryError:
        raise StepError(f"not a directory: {cwd or ctx.cwd}") from None
    chunks: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def pump(stream: str, pipe: IO[str]) -> None:
        for line in pipe:
            chunks[stream].append(line)
            ctx.emit(stream, line.rstrip("\r\n"), show=show)
        pipe.close()

    assert proc.stdout is not None and proc.stderr is not None
    # Two readers, so that neither pipe can fill up and block the child while we wait on the other.
    readers = [
        threading.Thread(target=pump, args=("stdout", proc.stdout), daemon=True),
        threading.Thread(target=pump, args=("stderr", proc.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    returncode = proc.wait()
    return ProcessResult(returncode, "".join(chunks["stdout"]), "".join(chunks["stderr"]))


def tail_of(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` non-blank lines of `text`, indented for an error message ("" when there are none)."""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(f"  | {line}" for line in kept)


def command_failed(what: str, result: ProcessResult, ctx: StepContext, hint: str | None = None) -> StepError:
    """A StepError for a command that exited non-zero: its exit code, then the tail of its stderr (redacted)."""
    tail = tail_of(ctx.redact(result.stderr)) or tail_of(ctx.redact(result.stdout))
    message = f"{what} exited with code {result.returncode}"
    return StepError(f"{message}\n{tail}" if tail else message, hint)


def as_bool(name: str, value: Any, default: bool) -> bool:
    """A boolean input; accepts the strings a placeholder renders to ("true", "False", "1", ...)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.strip().lower() in ("true", "yes", "on", "1")
    raise StepError(f"input {name!r} must be true or false, not {value!r}")


def as_str(name: str, value: Any, *, required: bool = False) -> str | None:
    """A string input (None allowed unless `required`); numbers are not silently turned into strings."""
    if value is None or value == "":
        if required:
            raise StepError(f"input {name!r} is required")
        return None
    if not isinstance(value, str):
        raise StepError(f"input {name!r} must be a string, not {type(value).__name__}")
    return value


def as_str_list(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise StepError(f"input {name!r} must be a list of strings")


def check_inputs(step_name: str, function: Callable[..., Any], inputs: Mapping[str, Any]) -> None:
    """Refuse inputs the implementation does not take, with a did-you-mean, instead of a TypeError."""
    import inspect  # when a step runs: `validate` (which loads this module) runs none

    params = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    known = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    for key in inputs:
        if key not in known:
            hint = f"{mean} " if (mean := did_you_mean(key, known)) else ""
            raise StepError(f"{step_name} has no input {key!r}", f"{hint}its inputs are {', '.join(known)}")


def describe(phase: str, index: int, total: int, name: str, step_id: str | None) -> str:
    """How a step is named in messages: `pull step 2 of 3 (run_shell_script, id 'install')` (index from 0)."""
    ident = f", id {step_id!r}" if step_id else ""
    return f"{phase} step {index + 1} of {total} ({name}{ident})"


def call_step(
    function: StepFunction, ctx: StepContext, where: str, name: str, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """Run one step implementation; any failure becomes a StepError that starts with `where`.

    A StepError from the step already says what failed (with the tail of the command's stderr); any other
    exception is a bug or an environment problem, reported with its type and the tail of the step's output, and
    never as a traceback. Secrets the step registered are redacted from the message.
    """
    try:
        check_inputs(name, function, inputs)
        outputs = function(ctx, **inputs)
    except StepError as exc:
        hint = ctx.redact(exc.hint) if exc.hint else None
        raise StepError(f"{where} failed: {ctx.redact(exc.message)}", hint) from None
    except Exception as exc:
        tail = "\n".join(f"  | {line}" for line in ctx.tail)
        detail = ctx.redact(f"{type(exc).__name__}: {exc}")
        raise StepError(f"{where} failed: {detail}" + (f"\nlast output:\n{tail}" if tail else "")) from None
    if not isinstance(outputs, dict):
        raise StepError(f"{where} returned {type(outputs).__name__}, not a mapping of outputs")
    return outputs
