"""`pip_install_requirements`: `python -m pip install -r FILE` with the interpreter that runs the step.

At run time that is the flow-run job's own interpreter, so the packages land where the flow will import them.

Stdlib only: this runs inside the flow-run job as a pull step.
"""

from __future__ import annotations

import sys
from typing import Any

from deploytool.errors import StepError
from deploytool.steps.base import StepContext, as_bool, as_str, command_failed, run_process


def pip_command(requirements: str) -> list[str]:
    """The command run for a requirements file (an absolute path, passed joined to its option so that a file
    name beginning with `-` cannot be read as another option)."""
    return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", f"--requirement={requirements}"]


def pip_install_requirements(
    ctx: StepContext,
    /,
    *,
    directory: Any = None,
    requirements_file: Any = "requirements.txt",
    stream_output: Any = True,
) -> dict[str, Any]:
    """Install `requirements_file` (relative to `directory`, itself relative to the current directory).

    Outputs `stdout` and `stderr` of pip, stripped.
    """
    cwd = ctx.resolve(as_str("directory", directory))
    if not cwd.is_dir():
        raise StepError(f"directory {cwd} does not exist", "directory is relative to the current working directory")
    name = as_str("requirements_file", requirements_file) or "requirements.txt"
    path = (cwd / name).resolve()
    if not path.is_file():
        raise StepError(f"requirements file {path} does not exist", f"requirements_file is relative to {cwd}")
    result = run_process(pip_command(str(path)), ctx, cwd=cwd, show=as_bool("stream_output", stream_output, True))
    if result.returncode != 0:
        raise command_failed(f"pip install -r {name}", result, ctx)
    return {"stdout": result.stdout.strip(), "stderr": result.stderr.strip()}
