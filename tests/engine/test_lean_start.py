"""A job imports only what its run needs (issue 17): checked from inside the flow, in a real engine process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import make_spec, run_engine, write_flow

FLOW = """
import sys

def main():
    print("MODULES", " ".join(sorted(sys.modules)))
"""

NEVER = {"inspect", "dataclasses", "ast", "difflib", "deploytool.errors", "deploytool.tasks", "concurrent.futures"}
# What a flow that does not import them does not pay for (issue 17): logging is imported by the flow's own code
# when it logs (the engine routes its records from then on: test_logging.py), typing by type checkers only,
# traceback (with linecache and tokenize) for a failure only, datetime not at all (events.iso_time).
NOT_FOR_A_PLAIN_FLOW = {"logging", "typing", "datetime", "traceback", "linecache", "tokenize"}
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
    assert not loaded & NOT_FOR_A_PLAIN_FLOW, loaded & NOT_FOR_A_PLAIN_FLOW
    assert not {m for m in loaded if m.startswith("deploytool.steps")}
    assert "deploytool.engine.prefect_compat" not in loaded  # the Prefect layer waits for `import prefect`


def test_set_working_directory_runs_without_the_step_runner(tmp_path: Path) -> None:
    """The pull step `prefect init` writes is done by the engine itself: no step module, no heavy stdlib."""
    (tmp_path / "sub").mkdir()
    pull = [
        {"name": "prefect.deployments.steps.set_working_directory", "id": "w", "inputs": {"directory": "."}},
        {"name": "set_working_directory", "id": None, "inputs": {"directory": "sub"}},
    ]
    write_flow(tmp_path / "sub", FLOW)
    run = run_engine(tmp_path, make_spec(pull_steps=pull), env={"PYTHONPATH": ""})
    assert run.exit_code == 0, run.log
    loaded = set(next(text for text in run.log if text.startswith("MODULES ")).split()[1:])
    assert not {m for m in loaded if m.startswith("deploytool.steps")}, loaded
    assert not loaded & (NEVER | NO_OTHER_STEPS), loaded & (NEVER | NO_OTHER_STEPS)
    finished = run.one("pull_finished")
    assert finished["directory"] == str((tmp_path / "sub").resolve())
    assert finished["outputs"] == {"w": {"directory": str(tmp_path.resolve())}}


def test_other_pull_steps_load_only_their_own_step(tmp_path: Path) -> None:
    pull = [
        {"name": "set_working_directory", "id": "w", "inputs": {"directory": "."}},
        {"name": "set_working_directory", "id": None, "inputs": {"directory": "{{ w.directory }}"}},
    ]
    loaded = _modules(tmp_path, pull_steps=pull)
    assert "deploytool.steps.workdir" in loaded  # a reference to resolve: the step runner's work
    assert not loaded & NO_OTHER_STEPS, loaded & NO_OTHER_STEPS


@pytest.mark.parametrize(
    "directory", ["sub", "./sub/../sub", "link", "{{ w.directory }}", "absent", "", "   ", "file.txt", "~"]
)
def test_the_engine_s_working_directory_is_the_step_runner_s(tmp_path: Path, directory: str) -> None:
    """Where the engine does set_working_directory itself, it ends where the step runner would; otherwise it
    leaves the steps (and the wording of any error) to the step runner."""
    from deploytool.engine.pull import working_directories_only
    from deploytool.errors import StepError
    from deploytool.steps.pull import run_pull_steps

    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "sub")
    (tmp_path / "file.txt").write_text("x")
    steps = [
        {"name": "set_working_directory", "id": "w", "inputs": {"directory": str(tmp_path)}},
        {"name": "set_working_directory", "id": "again", "inputs": {"directory": directory}},
    ]
    plain = working_directories_only(steps, str(tmp_path))
    try:
        result = run_pull_steps(steps, tmp_path, on_output=lambda stream, line: None)
    except StepError:
        assert plain is None
        return
    if plain is not None:
        assert plain == (str(result.directory), result.outputs)
    else:
        assert "{{" in directory


def test_the_engine_knows_every_name_of_set_working_directory() -> None:
    from deploytool.engine.pull import WORKING_DIRECTORY_STEPS
    from deploytool.steps.registry import STEPS

    spec = STEPS["set_working_directory"]
    assert {spec.name, *spec.aliases} == WORKING_DIRECTORY_STEPS
