"""Build/push output of `deploy`: plain lines without a terminal (CI), a live per-layer display in one."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

from deploytool.cli.progress import LiveSteps, step_output
from tests.cli.cli_helpers import CLI


def test_without_a_terminal_step_output_is_plain_lines(cli: CLI, tmp_path: Path) -> None:
    assert cli("work-pool", "create", "local", "--type", "process").code == 0
    (tmp_path / "flow.py").write_text("from deploytool import flow\n\n\n@flow\ndef f():\n    pass\n")
    (tmp_path / "deploy.yaml").write_text(
        textwrap.dedent(
            """\
            build:
              - run_shell_script:
                  script: echo building the thing
                  stream_output: true
            deployments:
              - name: d
                entrypoint: flow.py:f
                work_pool: {name: local}
            """
        )
    )
    result = cli("deploy", "--all", "--file", str(tmp_path / "deploy.yaml"))
    assert result.code == 0, result.err
    assert "building the thing\n" in result.out
    assert "\x1b[" not in result.out  # no live display, no escape codes: what a CI log wants


def test_the_plain_sink_prints_lines_and_ignores_progress_events(capsys: pytest.CaptureFixture[str]) -> None:
    with step_output(False) as sink:
        assert not getattr(sink, "wants_progress", False)  # so the Docker steps send it no events at all
        sink("stdout", "Step 1/3 : FROM base")
        sink("stderr", "a warning")
        sink("progress", json.dumps({"action": "push", "ref": "r:1", "layer": "abc", "status": "Pushing"}))
    captured = capsys.readouterr()
    assert captured.out == "Step 1/3 : FROM base\n" and captured.err == "a warning\n"


def event(status: str, layer: str, current: int | None = None, total: int | None = None) -> str:
    data: dict[str, object] = {"action": "push", "ref": "127.0.0.1:5000/app:1", "layer": layer, "status": status}
    if current is not None:
        data["current"], data["total"] = current, total
    return json.dumps(data)


def test_the_live_display_draws_one_line_per_layer_from_progress_events() -> None:
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    with step_output(True, console=console) as sink:
        assert isinstance(sink, LiveSteps) and sink.wants_progress
        sink("stdout", "The push refers to repository [127.0.0.1:5000/app]")
        for layer in ("aaa111", "bbb222"):
            sink("progress", event("Preparing", layer))
            sink("stdout", f"{layer}: Preparing")  # the plain twin of the event: drawn as the bar, not printed
        sink("progress", event("Pushing", "aaa111", 512, 2048))
        sink("progress", event("Pushing", "aaa111", 2048, 2048))
        sink("progress", event("Pushed", "aaa111"))
        sink("progress", event("Layer already exists", "bbb222"))
        sink("progress", "not json")  # ignored
        progress = sink._progress
        tasks = {t.description: t for t in progress.tasks}
        assert set(sink.tasks) == {
            ("push", "127.0.0.1:5000/app:1", "aaa111"),
            ("push", "127.0.0.1:5000/app:1", "bbb222"),
        }
        assert all(t.finished for t in tasks.values())
        assert "push 127.0.0.1:5000/app:1 aaa111: Pushed" in tasks
        assert tasks["push 127.0.0.1:5000/app:1 aaa111: Pushed"].total == 2048
    text = screen.getvalue()
    assert "The push refers to repository" in text
    assert "aaa111: Preparing\n" not in text
    assert "bbb222: Layer already exists" in text
