"""The project file: find it, load it with positions, validate it, and turn it into a Project.

`load_project()` is the one entry point: it reports every problem at once (as ConfigIssues sorted by
position) and never raises for a bad file; `require_valid()` turns errors into a ConfigError.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from deploytool.errors import DeploytoolError

TYPE_CHECKING = False  # not typing's: `import typing` costs every command a few ms
if TYPE_CHECKING:
    from typing import Any

    from deploytool.config.project import (
        PROJECT_FILENAMES,
        DeploymentSpec,
        LoadResult,
        Project,
        StepCall,
        display_name,
    )

# Loaded on first use: importing a light submodule (schedules, schedule_times, keypath) must not load the
# project file's parser and yaml with it (`deployment ls`, a worker's scheduler; issue 17).
_FROM_PROJECT = frozenset({"PROJECT_FILENAMES", "DeploymentSpec", "LoadResult", "Project", "StepCall", "display_name"})


def __getattr__(name: str) -> Any:
    if name in _FROM_PROJECT:
        value = getattr(importlib.import_module("deploytool.config.project"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PROJECT_FILENAMES",
    "DeploymentSpec",
    "LoadResult",
    "Project",
    "StepCall",
    "display_name",
    "find_project_file",
    "load_project",
]


def find_project_file(file: Path | str | None = None, cwd: Path | None = None) -> Path:
    """`--file`, else deploy.yaml, else prefect.yaml in `cwd`."""
    from deploytool.config.project import PROJECT_FILENAMES

    where = cwd or Path.cwd()
    if file is not None:
        path = Path(file)
        path = path if path.is_absolute() else where / path
        if path.is_dir():
            return find_project_file(None, path)
        if not path.exists():
            raise DeploytoolError(f"{file}: no such file", "check the path given with --file")
        return path
    for name in PROJECT_FILENAMES:
        if (where / name).is_file():
            return where / name
    raise DeploytoolError(
        f"no deploy.yaml or prefect.yaml in {where}",
        "run `deploytool init` to write a starter deploy.yaml, or name a file with --file",
    )


def load_project(
    file: Path | str | None = None,
    *,
    cwd: Path | None = None,
    strict: bool = False,
    default_pool: str | None = None,
) -> LoadResult:
    """Load and validate the project file. Problems come back as issues, sorted by position."""
    from deploytool.config.validate import validate_file

    path = find_project_file(file, cwd)
    return validate_file(path, strict=strict, default_pool=default_pool)
