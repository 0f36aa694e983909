"""run_shell_script for real: subprocesses, line by line and in one shell."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.shell import run_shell_script
from tests.steps.conftest import Lines

PY = sys.executable


def test_each_line_is_its_own_command_without_a_shell(ctx: StepContext, lines: Lines) -> None:
    out = run_shell_script(ctx, script=f"{PY} -c 'print(1)'\n\n   \n# a comment\n{PY} -c 'print(2)'\necho a | b")
    assert out == {"stdout": "1\n2\na | b", "stderr": ""}
    assert lines.lines == [("stdout", "1"), ("stdout", "2"), ("stdout", "a | b")]


def test_state_does_not_carry_over_between_lines(ctx: StepContext, workdir: Path) -> None:
    (workdir / "sub").mkdir()
    with pytest.raises(StepError) as err:
        run_shell_script(ctx, script="cd sub\npwd")
    assert "line 1" in err.value.message
    assert "without a shell" in (err.value.hint or "")


def test_shell_true_runs_the_whole_script_in_one_shell(ctx: StepContext, workdir: Path) -> None:
    (workdir / "sub").mkdir()
    out = run_shell_script(ctx, script="cd sub\nX=hello\necho $X from $(basename $(pwd)) | tr a-z A-Z", shell=True)
    assert out["stdout"] == "HELLO FROM SUB"


def test_shell_stops_at_the_first_failing_command(ctx: StepContext, workdir: Path) -> None:
    with pytest.raises(StepError) as err:
        run_shell_script(ctx, script="echo before\necho oops >&2\nfalse\ntouch after", shell=True)
    assert "exited with code 1" in err.value.message
    assert "oops" in err.value.message
    assert not (workdir / "after").exists()


def test_shell_given_as_a_path(ctx: StepContext) -> None:
    assert run_shell_script(ctx, script="echo $0", shell="/bin/sh")["stdout"].endswith("sh")
    with pytest.raises(StepError, match="not found"):
        run_shell_script(ctx, script="true", shell="/no/such/shell")


def test_failure_reports_line_exit_code_and_stderr_tail(ctx: StepContext, workdir: Path) -> None:
    script = f"{PY} -c 'print(1)'\n{PY} -c 'import sys; sys.stderr.write(\"bad thing\\n\"); sys.exit(3)'\ntouch never"
    with pytest.raises(StepError) as err:
        run_shell_script(ctx, script=script)
    assert "line 2" in err.value.message
    assert "exited with code 3" in err.value.message
    assert "| bad thing" in err.value.message
    assert not (workdir / "never").exists()


@pytest.mark.parametrize(
    ("line", "needs_shell"),
    [
        (f"{PY} -c \"import sys; print('a | b > c'); sys.exit(3)\"", False),
        (f"{PY} -c 'import sys; sys.exit(3)' > out.txt", True),
        (f'{PY} -c "import sys; sys.exit(3)" "$(date)"', True),
    ],
)
def test_the_shell_hint_only_for_shell_syntax_outside_quotes(ctx: StepContext, line: str, needs_shell: bool) -> None:
    with pytest.raises(StepError, match="exited with code 3") as err:
        run_shell_script(ctx, script=line)
    assert ("without a shell" in (err.value.hint or "")) is needs_shell


def test_missing_program(ctx: StepContext) -> None:
    with pytest.raises(StepError, match="line 1: command not found: no-such-program-xyz"):
        run_shell_script(ctx, script="no-such-program-xyz --flag")


def test_env_is_merged_over_the_environment(ctx: StepContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_OS", "os")
    monkeypatch.setenv("UNSET_ME", "x")
    code = "import os; print(os.environ['FROM_OS'], os.environ['MINE'], os.environ['N'], 'UNSET_ME' in os.environ)"
    out = run_shell_script(ctx, script=f'{PY} -c "{code}"', env={"MINE": "mine", "N": 3, "UNSET_ME": None})
    assert out["stdout"] == "os mine 3 False"


def test_env_vars_expand_only_when_asked(ctx: StepContext) -> None:
    script = "echo $GREETING ${GREETING}-x $UNKNOWN_VAR_XYZ"
    assert run_shell_script(ctx, script=script, env={"GREETING": "hi"})["stdout"] == script[5:]
    out = run_shell_script(ctx, script=script, env={"GREETING": "hi"}, expand_env_vars=True)
    assert out["stdout"] == "hi hi-x $UNKNOWN_VAR_XYZ"


def test_directory_is_relative_to_the_context(ctx: StepContext, workdir: Path) -> None:
    (workdir / "a" / "b").mkdir(parents=True)
    assert run_shell_script(ctx, script="pwd", directory="a/b")["stdout"] == str(workdir / "a" / "b")
    with pytest.raises(StepError, match="does not exist"):
        run_shell_script(ctx, script="pwd", directory="nope")


def test_stream_output_false_captures_without_streaming(ctx: StepContext, lines: Lines) -> None:
    assert run_shell_script(ctx, script="echo quiet", stream_output=False)["stdout"] == "quiet"
    assert run_shell_script(ctx, script="echo quiet", stream_output="false")["stdout"] == "quiet"
    assert lines.lines == []


def test_bad_input_types(ctx: StepContext) -> None:
    with pytest.raises(StepError, match="'shell' must be true or false"):
        run_shell_script(ctx, script="true", shell=3)
    with pytest.raises(StepError, match="'env' must be a mapping"):
        run_shell_script(ctx, script="true", env=["A=1"])
    with pytest.raises(StepError, match="cannot be split"):
        run_shell_script(ctx, script="echo 'unterminated")
