"""What a user reads while images are built and pushed, against the real Docker daemon: a missing base image is
one line naming the settings, a rebuilt tag says so, a terminal shows one updating line per build step (full
output with --verbose or on failure), and push progress never passes 100%."""

from __future__ import annotations

import io
import json
import re
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from deploytool.cli.entry import main
from deploytool.cli.progress import LiveSteps
from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.docker_image import build_docker_image
from tests.docker_support import DockerJanitor


def repo() -> str:
    return f"deploytool-test/out-{uuid.uuid4().hex[:8]}"


def live_sink(verbose: bool = False) -> tuple[LiveSteps, io.StringIO]:
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160, color_system=None)
    return LiveSteps(console=console, verbose=verbose), screen


def printed_lines(screen: io.StringIO) -> list[str]:
    """Lines printed above the live display (the display's own redraws start with cursor movements)."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", screen.getvalue())
    return [line.strip() for line in text.splitlines() if line.strip()]


# --- a base image that is not there --------------------------------------------------------------------------


def test_a_missing_base_image_is_one_line_naming_the_settings(
    ctx: StepContext, workdir: Path, docker_client: Any, docker_labels: dict[str, str]
) -> None:
    (workdir / "flow.py").write_text("print('hi')\n")
    absent = f"deploytool-test/no-such-python-{uuid.uuid4().hex[:8]}:3.11"
    with pytest.raises(StepError) as caught:
        build_docker_image(ctx, image_name=repo(), dockerfile="auto", base_image=absent, labels=docker_labels)
    error = caught.value
    assert error.message.startswith(f"the base image {absent} is not on this Docker host and cannot be pulled (")
    assert "\n" not in error.message  # one line, not the build's output again
    assert error.hint is not None and "DEPLOYTOOL_BASE_IMAGE=" in error.hint and "base_image: " in error.hint


def test_the_base_image_error_through_deploy_is_two_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], docker_client: Any, docker_labels: dict[str, str]
) -> None:
    absent = f"deploytool-test/no-such-python-{uuid.uuid4().hex[:8]}:3.11"
    project = _project(tmp_path, repo(), docker_labels, base=absent)
    assert main(["work-pool", "create", "dp", "--type", "docker"]) == 0
    capsys.readouterr()
    assert main(["deploy", "--all", "--file", str(project)]) == 1
    err = capsys.readouterr().err.splitlines()
    errors = [line for line in err if line.startswith("Error: ")]
    assert len(errors) == 1 and "the base image" in errors[0] and "  | " not in "\n".join(err)
    assert err[err.index(errors[0]) + 1].startswith("  hint: pull or build it here")


# --- the same tag, new content -------------------------------------------------------------------------------


def _project(root: Path, image: str, labels: dict[str, str], base: str | None = None) -> Path:
    from tests.docker_support import base_image_name

    (root / "flows").mkdir(exist_ok=True)
    (root / "flows" / "f.py").write_text("from deploytool import flow\n\n\n@flow\ndef f():\n    print('v1')\n")
    (root / "deploy.yaml").write_text(
        textwrap.dedent(
            f"""\
            build:
              - build_docker_image:
                  id: image
                  image_name: {image}
                  tag: stable
                  dockerfile: auto
                  base_image: {base or base_image_name()}
                  labels: {json.dumps(labels)}
            deployments:
              - name: d
                entrypoint: flows/f.py:f
                work_pool:
                  name: dp
                  job_variables:
                    image: "{{{{ image.image }}}}"
            """
        )
    )
    return root / "deploy.yaml"


def test_a_rebuilt_tag_is_reported_instead_of_nothing_to_change(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    base_image: str,
    docker_labels: dict[str, str],
    docker_janitor: DockerJanitor,
) -> None:
    image = repo()
    docker_janitor.image(f"{image}:stable")
    project = _project(tmp_path, image, docker_labels)
    assert main(["work-pool", "create", "dp", "--type", "docker"]) == 0
    assert main(["deploy", "--all", "--file", str(project)]) == 0
    assert "Deployed: 1 created." in capsys.readouterr().out

    (tmp_path / "flows" / "f.py").write_text("from deploytool import flow\n\n\n@flow\ndef f():\n    print('v2')\n")
    assert main(["deploy", "--all", "--file", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"image {image}:stable rebuilt (content changed): it was sha256:" in out
    assert f"Image rebuilt (content changed): {image}:stable; new runs use it. Deployments: 1 unchanged." in out
    assert "Nothing to change" not in out

    assert main(["deploy", "--all", "--file", str(project), "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["rebuilt_images"] == []  # unchanged: reused, not rebuilt
    assert main(["deploy", "--all", "--file", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"reusing {image}:stable" in out and "Nothing to change: 1 unchanged." in out


# --- one line per build step in a terminal -------------------------------------------------------------------

STEPS = 'RUN for w in alpha beta gamma; do echo "out-$w"; done\nRUN echo out-delta\n'


def test_a_terminal_shows_one_updating_line_per_build_step(
    workdir: Path, base_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    (workdir / "Dockerfile").write_text(f"FROM {base_image}\n{STEPS}")
    sink, screen = live_sink()
    ctx = StepContext(cwd=workdir, on_output=sink)
    out = build_docker_image(ctx, image_name=repo(), labels=docker_labels, nocache=True)
    docker_janitor.image(out["image"])
    steps = [t for t in sink._progress.tasks if t.description.startswith("Step ")]
    sink.close()
    numbers = [t.description.split(" : ")[0] for t in steps]  # one line per step (labels add steps of their own)
    count = int(numbers[0].split("/")[1])
    assert numbers == [f"Step {i}/{count}" for i in range(1, count + 1)]
    assert all(t.finished for t in steps)
    printed = printed_lines(screen)
    assert "out-alpha" not in printed and "out-delta" not in printed  # shown only beside its step, then replaced
    assert any(line.startswith("Successfully tagged") for line in printed)


def test_verbose_and_failures_show_the_full_output(
    workdir: Path, base_image: str, docker_labels: dict[str, str], docker_janitor: DockerJanitor
) -> None:
    (workdir / "Dockerfile").write_text(f"FROM {base_image}\n{STEPS}")
    sink, screen = live_sink(verbose=True)
    out = build_docker_image(
        StepContext(cwd=workdir, on_output=sink), image_name=repo(), labels=docker_labels, nocache=True
    )
    docker_janitor.image(out["image"])
    sink.close()
    printed = printed_lines(screen)
    assert "out-alpha" in printed and "out-gamma" in printed and "out-delta" in printed

    (workdir / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo out-before && echo out-broken >&2 && exit 3\n")
    sink, screen = live_sink()
    with pytest.raises(StepError):
        build_docker_image(StepContext(cwd=workdir, on_output=sink), image_name=repo(), labels=docker_labels)
    sink.close()
    printed = printed_lines(screen)
    assert "out-before" in printed and "out-broken" in printed  # the failing step's output, in full


# --- push progress -------------------------------------------------------------------------------------------


def test_push_progress_never_shows_more_than_100_percent() -> None:
    sink, screen = live_sink()
    total = 289_100_000

    def push(status: str, current: int | None = None) -> None:
        event: dict[str, object] = {"action": "push", "ref": "127.0.0.1:5000/app:1", "layer": "abc", "status": status}
        if current is not None:
            event["current"], event["total"] = current, total
        sink("progress", json.dumps(event))

    push("Pushing", 100_000_000)
    push("Pushing", 297_600_000)  # Docker's count overshoots the layer's size (seen: 297.6/289.1 MB)
    (task,) = sink._progress.tasks
    assert task.completed <= task.total == total
    assert task.fields["size"] == "289.1/289.1 MB"
    push("Pushed")
    sink.close()
    assert "297.6" not in screen.getvalue()
