"""A project on disk for the CLI tests: one flow file and a deploy.yaml."""

from __future__ import annotations

import textwrap
from pathlib import Path

FLOW = """
from deploytool import flow


@flow(name="etl")
def etl(source: str, batch_size: int = 100) -> None:
    print(source, batch_size)
"""


def write_project(root: Path, yaml_text: str) -> Path:
    (root / "flows").mkdir(parents=True, exist_ok=True)
    (root / "flows" / "etl.py").write_text(FLOW)
    path = root / "deploy.yaml"
    path.write_text(textwrap.dedent(yaml_text))
    return path
