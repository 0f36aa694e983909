"""`run_shell_script`: run a script, line by line without a shell (Prefect's way) or whole in one shell.

Without `shell`, each non-empty line is split with shlex and run as its own process, with no shell: no pipes,
redirects, globs, `&&` or `cd`, and nothing carries over from one line to the next. A line that is only a
`# comment` is skipped (Prefect would try to run a program called `#`).

With `shell: true` (or the path of a shell), the WHOLE script runs in one shell process, `bash -e` when bash is
installed, else `sh -e`. Prefect instead runs each line in its own shell, so `cd dir` on one line has no effect on
the next and a failing line in the middle of a multi-line construct is misreported. One shell per script is what a
reader of the YAML expects, and `-e` keeps Prefect's "stop at the first failing command" behaviour.

Stdlib only: this runs inside the flow-run job as a pull step.
"""

from __future__ import annotations

import shlex
import shutil
import string
from pathlib import Path
from typing import Any

from deploytool.errors import StepError
from deploytool.steps.base import ProcessResult, StepContext, as_bool, as_str, command_failed, run_process

_SHELL_SYNTAX = ("|", "&&", "||", ">", "<", ";", "$(", "`", "*")
_POSIX_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "ash", "mksh"})


def run_shell_script(
    ctx: StepContext,
    /,
    *,
    script: Any,
    directory: Any = None,
    env: Any = None,
    stream_output: Any = True,
    expand_env_vars: Any = False,
    shell: Any = False,
) -> dict[str, Any]:
    """Run `script`; outputs `stdout` and `stderr`, all lines' output concatenated and stripped."""
    text = as_str("script", script, required=True) or ""
    show = as_bool("stream_output", stream_output, True)
    expand = as_bool("expand_env_vars", expand_env_vars, False)
    cwd = ctx.resolve(as_str("directory", directory))
    if not cwd.is_dir():
        raise StepError(f"directory {cwd} does not exist", "directory is relative to the current working directory")
    full_env = _merged_env(ctx, env)
    if expand:
        # $VAR and ${VAR} from the step's environment; unknown names stay as written (Prefect's safe_substitute).
        text = string.Template(text).safe_substitute(full_env)
    program = _shell_program(shell)
    if program is not None:
        result = run_process([*program, text], ctx, cwd=cwd, env=full_env, show=show)
        if result.returncode != 0:
            raise command_failed(f"script (run by {program[0]})", result, ctx)
        return {"stdout": result.stdout.strip(), "stderr": result.stderr.strip()}
    return _run_lines(text, ctx, cwd, full_env, show)


def _run_lines(text: str, ctx: StepContext, cwd: Path, env: dict[str, str], show: bool) -> dict[str, Any]:
    stdout: list[str] = []
    stderr: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            argv = shlex.split(line, comments=True)
        except ValueError as exc:
            raise StepError(f"line {number} cannot be split into arguments: {exc}: {line.strip()}") from None
        if not argv:
            continue
        hint = _syntax_hint(line)
        try:
            result: ProcessResult = run_process(argv, ctx, cwd=cwd, env=env, show=show)
        except StepError as exc:
            raise StepError(f"line {number}: {exc.message}", hint or exc.hint) from None
        stdout.append(result.stdout)
        stderr.append(result.stderr)
        if result.returncode != 0:
            raise command_failed(f"line {number} `{ctx.redact(line.strip())}`", result, ctx, hint)
    return {"stdout": "".join(stdout).strip(), "stderr": "".join(stderr).strip()}


def _merged_env(ctx: StepContext, env: Any) -> dict[str, str]:
    """The step's `env` over the base environment. Numbers and booleans become strings; None unsets a name."""
    merged = ctx.base_env()
    if env is None:
        return merged
    if not isinstance(env, dict):
        raise StepError("input 'env' must be a mapping of names to values")
    for name, value in env.items():
        if value is None:
            merged.pop(str(name), None)
        elif isinstance(value, bool):
            merged[str(name)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            merged[str(name)] = str(value)
        else:
            raise StepError(f"env {name!r} must be a string, number or boolean, not {type(value).__name__}")
    return merged


def _shell_program(shell: Any) -> list[str] | None:
    """The argv prefix that runs a whole script in a shell, or None to run it line by line."""
    if isinstance(shell, str) and shell.strip().lower() not in ("true", "false", "yes", "no", "1", "0", ""):
        path = shutil.which(shell) or (shell if Path(shell).is_file() else None)
        if path is None:
            raise StepError(f"shell {shell!r} not found", "give true for bash/sh, or the path of an installed shell")
        exit_early = ["-e"] if Path(path).name in _POSIX_SHELLS else []
        return [path, *exit_early, "-c"]
    if not as_bool("shell", shell, False):
        return None
    found = shutil.which("bash") or shutil.which("sh")
    if found is None:
        raise StepError("shell: true needs bash or sh, and neither is on PATH")
    return [found, "-e", "-c"]


def _syntax_hint(line: str) -> str | None:
    if any(token in _shell_visible(line) for token in _SHELL_SYNTAX) or line.lstrip().startswith(("cd ", "export ")):
        return "each line runs without a shell; set `shell: true` for pipes, redirects, &&, globs, cd or export"
    return None


def _shell_visible(line: str) -> str:
    """The parts of `line` a shell would act on: outside quotes, plus `$(` and backticks inside double quotes.
    `python -c "import sys; sys.exit(3)"` needs no shell, so its failure gets no hint about one."""
    seen: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and quote != "'":  # an escape, except inside single quotes
            index += 2
            seen.append(" ")
            continue
        if quote is None:
            if char in "'\"":
                quote = char
            seen.append(" " if char in "'\"" else char)
        elif char == quote:
            quote = None
        elif quote == '"' and (char == "`" or line.startswith("$(", index)):
            seen.append(char if char == "`" else "$(")
        index += 1
    return "".join(seen)
