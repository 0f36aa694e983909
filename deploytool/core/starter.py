"""`deploytool init`: write a commented starter deploy.yaml and the sample flow it points at."""

from __future__ import annotations

from pathlib import Path

from deploytool.errors import ConflictError, DeploytoolError
from deploytool.pkgfiles import files

RECIPES = ("process", "docker")
_SAMPLE_FLOW = Path("flows") / "my_flow.py"


def write_starter(recipe: str, directory: Path, *, force: bool = False) -> list[Path]:
    """Write deploy.yaml (and flows/my_flow.py unless it exists) into `directory`; return what was written."""
    if recipe not in RECIPES:
        raise DeploytoolError(f"unknown recipe {recipe!r}", f"use one of: {', '.join(RECIPES)}")
    templates = files("deploytool").joinpath("config", "templates")
    target = directory / "deploy.yaml"
    if target.exists() and not force:
        raise ConflictError(f"{target} already exists", "pass --force to overwrite it")
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(templates.joinpath(f"{recipe}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    written = [target]
    flow_file = directory / _SAMPLE_FLOW
    if not flow_file.exists():
        flow_file.parent.mkdir(parents=True, exist_ok=True)
        flow_file.write_text(templates.joinpath("my_flow.py.txt").read_text(encoding="utf-8"), encoding="utf-8")
        written.append(flow_file)
    return written
