"""`set_working_directory`: make later steps (and, at run time, the flow) run in a directory.

The directory is resolved against the context's current directory, so a relative path in a pull step means
"relative to where the previous step left off" (the job's start directory for the first step). The step changes
`ctx.cwd`, not the process's working directory: the engine changes into the final directory itself once all pull
steps have run (see `pull.run_pull_steps`), and a deploy is never moved under the CLI's feet.

Stdlib only: this runs inside the flow-run job as a pull step.
"""

from __future__ import annotations

from typing import Any

from deploytool.errors import StepError
from deploytool.steps.base import StepContext, as_str


def set_working_directory(ctx: StepContext, /, *, directory: Any) -> dict[str, Any]:
    """Change `ctx.cwd` to `directory`; output `directory`, absolute."""
    path = ctx.resolve(as_str("directory", directory, required=True))
    if not path.exists():
        raise StepError(
            f"directory {path} does not exist",
            f"{directory!r} is resolved against {ctx.cwd}; check the path, or the step that should create it",
        )
    if not path.is_dir():
        raise StepError(f"{path} is not a directory")
    ctx.cwd = path
    return {"directory": str(path)}
