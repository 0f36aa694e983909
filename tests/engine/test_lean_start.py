"""A job imports only what its run needs (issue 17): checked from inside the flow, in a real engine process."""

from __future__ import annotations

from pathlib import Path

from tests.engine.helpers import make_spec, run_engine, write_flow

FLOW = """
import sys

def main():
    print("MODULES", " ".join(sorted(sys.modules)))
"""

NEVER = {"inspect", "dataclasses", "ast", "difflib", "deploytool.errors", "deploytool.tasks", "concurrent.futures"}
NO_OTHER_STEPS = {
    "tarfile", "zipfile", "hashlib", "platform", "deploytool.steps.git", "deploytool.steps.gitauth",
    "deploytool.steps.pip", "deploytool.steps.shell", "deploytool.steps.docker_image", "deploytool.steps.docker_push",
}  # fmt: skip


def _modules(tmp_path: Path, **spec: object) -> set[str]:
    write_flow(tmp_path, FLOW)
    run = run_engine(tmp_path, make_spec(**spec), env={"PYTHONPATH": ""})
    assert run.exit_code == 0, run.log
    line = next(text for text in run.log if text.startswith("MODULES "))
    return set(line.split()[1:])


def test_a_run_without_pull_steps_imports_no_step_and_no_heavy_stdlib(tmp_path: Path) -> None:
    loaded = _modules(tmp_path)
    assert not loaded & NEVER, loaded & NEVER
    assert not {m for m in loaded if m.startswith("deploytool.steps")}
    assert "deploytool.engine.prefect_compat" not in loaded  # the Prefect layer waits for `import prefect`


def test_set_working_directory_loads_that_step_only(tmp_path: Path) -> None:
    pull = [{"name": "prefect.deployments.steps.set_working_directory", "id": "w", "inputs": {"directory": "."}}]
    loaded = _modules(tmp_path, pull_steps=pull)
    assert "deploytool.steps.workdir" in loaded
    assert not loaded & NO_OTHER_STEPS, loaded & NO_OTHER_STEPS
