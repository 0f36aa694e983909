"""The deploy-time runner (run_steps) and the run-time pull runner (run_pull_steps): ids, outputs, failures."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from deploytool.config.project import StepCall
from deploytool.errors import StepError
from deploytool.steps.builtins import IMPLEMENTATIONS
from deploytool.steps.pull import run_pull_steps, substitute
from deploytool.steps.registry import STEPS
from deploytool.steps.run import run_steps, templating_render
from deploytool.templating import Phase, TemplateContext
from tests.steps.conftest import Lines
from tests.steps.gitserver import Upstream

PY = sys.executable


def call(name: str, inputs: dict[str, Any], step_id: str | None = None, index: int = 0) -> StepCall:
    return StepCall(name, name, inputs, step_id, ("build", index))


def no_render(inputs: dict[str, Any], outputs: Mapping[str, Mapping[str, Any]], path: str) -> dict[str, Any]:
    return inputs


def test_every_registered_step_has_an_implementation() -> None:
    assert set(IMPLEMENTATIONS) == set(STEPS)


def test_outputs_are_stored_only_under_ids(workdir: Path) -> None:
    calls = [
        call("run_shell_script", {"script": "echo one"}, "first"),
        call("run_shell_script", {"script": "echo two"}),
        call("prefect.deployments.steps.run_shell_script", {"script": "echo three"}, "third"),
    ]
    outputs = run_steps(calls, phase="build", cwd=workdir, render=no_render)
    assert outputs == {"first": {"stdout": "one", "stderr": ""}, "third": {"stdout": "three", "stderr": ""}}


def test_render_sees_the_outputs_so_far_and_the_location(workdir: Path) -> None:
    seen: list[tuple[dict[str, Any], str]] = []

    def render(inputs: dict[str, Any], outputs: Mapping[str, Mapping[str, Any]], path: str) -> dict[str, Any]:
        seen.append(({k: dict(v) for k, v in outputs.items()}, path))
        return inputs

    calls = [
        call("run_shell_script", {"script": "echo a"}, "a", 0),
        call("run_shell_script", {"script": "true"}, "b", 1),
    ]
    run_steps(calls, phase="build", cwd=workdir, render=render)
    assert seen == [
        ({}, "build[0].run_shell_script"),
        ({"a": {"stdout": "a", "stderr": ""}}, "build[1].run_shell_script"),
    ]


def test_templating_render_resolves_step_outputs_env_and_variables(workdir: Path, lines: Lines) -> None:
    context = TemplateContext.for_phase(Phase.RUN, env={"WHO": "env"}, variables={"greeting": "hello"})
    calls = [
        call("run_shell_script", {"script": "echo {{ prefect.variables.greeting }} {{ $WHO }}"}, "say"),
        call("run_shell_script", {"script": "echo got {{ say.stdout }}"}, "echo"),
    ]
    outputs = run_steps(calls, phase="build", cwd=workdir, render=templating_render(context), on_output=lines)
    assert outputs["echo"]["stdout"] == "got hello env"
    assert lines.lines == [("stdout", "hello env"), ("stdout", "got hello env")]


def test_flat_names_are_not_outputs(workdir: Path) -> None:
    # Prefect merges every step's outputs into one flat namespace; deploytool does not.
    context = TemplateContext.for_phase(Phase.RUN)
    calls = [
        call("run_shell_script", {"script": "echo a"}, "a"),
        call("run_shell_script", {"script": "echo {{ stdout }}"}),
    ]
    with pytest.raises(Exception, match="stdout"):
        run_steps(calls, phase="build", cwd=workdir, render=templating_render(context))


def test_failure_names_phase_index_name_id_and_tail(workdir: Path) -> None:
    script = f'{PY} -c \'import sys; print("progress"); sys.stderr.write("disk full\\n"); sys.exit(4)\''
    calls = [
        call("run_shell_script", {"script": "echo ok"}, "ok", 0),
        call("run_shell_script", {"script": script}, "explode", 1),
        call("run_shell_script", {"script": "touch never"}, "later", 2),
    ]
    with pytest.raises(StepError) as err:
        run_steps(calls, phase="build", cwd=workdir, render=no_render)
    message = err.value.message
    assert message.startswith("build step 2 of 3 (run_shell_script, id 'explode') failed: line 1 ")
    assert "exited with code 4" in message and "| disk full" in message
    assert not (workdir / "never").exists()


def test_unknown_input_is_a_step_error_with_did_you_mean(workdir: Path) -> None:
    with pytest.raises(StepError) as err:
        run_steps([call("run_shell_script", {"scrip": "x"}, "s")], phase="push", cwd=workdir, render=no_render)
    assert (
        err.value.message == "push step 1 of 1 (run_shell_script, id 's') failed: run_shell_script has no input 'scrip'"
    )
    assert "did you mean 'script'?" in (err.value.hint or "")


def test_duplicate_ids_refused_before_anything_runs(workdir: Path) -> None:
    calls = [call("run_shell_script", {"script": "touch ran"}, "x"), call("run_shell_script", {"script": "true"}, "x")]
    with pytest.raises(StepError, match="step id 'x' is already used"):
        run_steps(calls, phase="build", cwd=workdir, render=no_render)
    assert not (workdir / "ran").exists()


def test_set_working_directory_moves_later_steps(workdir: Path) -> None:
    (workdir / "sub").mkdir()
    calls = [
        call("set_working_directory", {"directory": "sub"}, "cd"),
        call("run_shell_script", {"script": "pwd"}, "pwd"),
    ]
    outputs = run_steps(calls, phase="build", cwd=workdir, render=no_render)
    assert outputs["pwd"]["stdout"] == str(workdir / "sub") == outputs["cd"]["directory"]


def test_docker_build_step_reports_a_missing_dockerfile(workdir: Path) -> None:
    with pytest.raises(StepError) as err:
        run_steps(
            [call("build_docker_image", {"image_name": "x"}, "img")], phase="build", cwd=workdir, render=no_render
        )
    assert err.value.message.startswith("build step 1 of 1 (build_docker_image, id 'img') failed: Dockerfile ")
    assert "does not exist" in err.value.message


def test_secrets_are_redacted_from_streamed_lines_and_errors(workdir: Path, lines: Lines) -> None:
    calls = [call("run_shell_script", {"script": "echo token=hunter2\nfalse"}, "s")]
    with pytest.raises(StepError) as err:
        run_steps(calls, phase="build", cwd=workdir, render=no_render, on_output=lines, secrets={"hunter2"})
    assert lines.lines == [("stdout", "token=***")]
    assert "hunter2" not in str(err.value)


def test_unexpected_exception_becomes_a_step_error_with_the_tail(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Any, /, *, script: str) -> dict[str, Any]:
        ctx.emit("stdout", "working on it")
        raise ValueError("boom")

    monkeypatch.setitem(IMPLEMENTATIONS, "run_shell_script", broken)
    with pytest.raises(StepError) as err:
        run_steps([call("run_shell_script", {"script": "x"})], phase="build", cwd=workdir, render=no_render)
    assert err.value.message == (
        "build step 1 of 1 (run_shell_script) failed: ValueError: boom\nlast output:\n  | working on it"
    )


# -- pull steps (run time) ------------------------------------------------------------------------------------


def test_pull_steps_clone_then_install_then_chain_outputs(workdir: Path, upstream: Upstream, lines: Lines) -> None:
    steps = [
        {"name": "prefect.deployments.steps.git_clone", "id": "clone", "inputs": {"repository": upstream.url}},
        {"name": "run_shell_script", "id": "ls", "inputs": {"script": "ls {{ clone.directory }}"}},
        {"name": "run_shell_script", "id": None, "inputs": {"script": "echo {{ '{{' }} literal }}"}},
    ]
    result = run_pull_steps(steps, workdir, on_output=lines)
    assert result.directory == workdir / "project"
    assert result.outputs["clone"] == {"directory": str(workdir / "project")}
    assert "flow.py" in result.outputs["ls"]["stdout"].split()
    assert ("stdout", "{{ literal }}") in lines.lines


def test_pull_final_directory_follows_set_working_directory(workdir: Path) -> None:
    (workdir / "a" / "b").mkdir(parents=True)
    steps = [
        {"name": "set_working_directory", "inputs": {"directory": "a"}},
        {"name": "set_working_directory", "inputs": {"directory": "b"}},
        {"name": "run_shell_script", "id": "here", "inputs": {"script": "pwd"}},
    ]
    result = run_pull_steps(steps, workdir, on_output=lambda s, line: None)
    assert result.directory == workdir / "a" / "b"
    assert result.outputs == {"here": {"stdout": str(workdir / "a" / "b"), "stderr": ""}}
    assert run_pull_steps([], workdir).directory == workdir


def test_pull_failure_and_bad_references(workdir: Path) -> None:
    with pytest.raises(StepError) as err:
        run_pull_steps([{"name": "set_working_directory", "id": "wd", "inputs": {"directory": "missing"}}], workdir)
    assert err.value.message.startswith("pull step 1 of 1 (set_working_directory, id 'wd') failed: directory ")
    steps = [{"name": "run_shell_script", "id": "a", "inputs": {"script": "echo {{ nope.stdout }}"}}]
    with pytest.raises(StepError, match="refers to no earlier pull step with id 'nope'"):
        run_pull_steps(steps, workdir)
    steps = [{"name": "run_shell_script", "inputs": {"script": "echo {{ prefect.blocks.secret.x }}"}}]
    with pytest.raises(StepError, match="cannot be resolved at run time"):
        run_pull_steps(steps, workdir)
    with pytest.raises(StepError, match="cannot be resolved at run time"):
        run_pull_steps([{"name": "run_shell_script", "inputs": {"script": "echo {{ a | upper }}"}}], workdir)
    with pytest.raises(StepError, match=r"unknown step 'my\.module\.step'"):
        run_pull_steps([{"name": "my.module.step", "inputs": {}}], workdir)


def test_substitute_keeps_types_for_whole_placeholders() -> None:
    outputs = {"b": {"tags": ["x", "y"], "n": 3, "m": {"k": "v"}}}
    assert substitute("{{ b.tags }}", outputs, "") == ["x", "y"]
    assert substitute("{{b.n}}", outputs, "") == 3
    assert substitute({"l": ["{{ b.tags[1] }}", "n={{ b.n }} m={{ b.m }}"]}, outputs, "") == {
        "l": ["y", 'n=3 m={"k": "v"}']
    }
    with pytest.raises(StepError, match="has no 'missing'"):
        substitute("{{ b.missing }}", outputs, "")


def test_pull_modules_import_only_the_stdlib() -> None:
    code = (
        "import sys; import deploytool.steps.pull, deploytool.steps.builtins\n"
        "heavy = {'jinja2', 'jsonschema', 'yaml', 'docker', 'typer', 'rich'} & set(sys.modules)\n"
        "ours = sorted(m for m in sys.modules if m.startswith('deploytool'))\n"
        "print(sorted(heavy), ours)"
    )
    out = subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    heavy, ours = out.split(" ", 1)
    assert heavy == "[]"
    allowed = {"deploytool", "deploytool.errors", "deploytool.records", "deploytool.redaction", "deploytool.steps"}
    allowed.add("deploytool.typeforms")  # typing's forms without typing (stdlib only)
    assert all(m in allowed or m.startswith("deploytool.steps.") for m in eval(ours))
    assert "deploytool.steps.run" not in ours
