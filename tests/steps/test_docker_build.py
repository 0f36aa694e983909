"""build_docker_image against the real Docker daemon: auto and user Dockerfiles, tags, reuse, cache, failures."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploytool.engine.spec import RunSpec
from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.docker_image import build_docker_image
from deploytool.steps.dockerfile import AUTO_PROJECT_DIR
from deploytool.steps.run import run_steps
from tests.docker_support import DockerJanitor
from tests.steps.conftest import Lines

FLOW = """\
from deploytool import flow


@flow(name="greet")
def greet(name: str = "world") -> str:
    import six

    print(f"hello {name} from six {six.__version__}")
    return name
"""


def repo() -> str:
    return f"deploytool-test/build-{uuid.uuid4().hex[:8]}"


def run(docker_client: Any, janitor: DockerJanitor, image: str, command: list[str], **kwargs: Any) -> tuple[int, str]:
    container = janitor.container(docker_client.containers.create(image, command, **kwargs))
    container.start()
    code = container.wait(timeout=120)["StatusCode"]
    return int(code), container.logs().decode()


@pytest.fixture
def project(workdir: Path) -> Path:
    (workdir / "flows").mkdir()
    (workdir / "flows" / "greet.py").write_text(FLOW)
    (workdir / "requirements.txt").write_text("six\n")
    (workdir / "notes.log").write_text("excluded\n")
    (workdir / ".dockerignore").write_text("*.log\n")
    return workdir


@pytest.fixture
def auto_inputs(base_image: str, docker_labels: dict[str, str]) -> dict[str, Any]:
    return {"dockerfile": "auto", "base_image": base_image, "labels": docker_labels}


def test_auto_image_runs_a_flow_with_its_requirements(
    ctx: StepContext, project: Path, auto_inputs: dict[str, Any], docker_client: Any, docker_janitor: DockerJanitor
) -> None:
    out = build_docker_image(ctx, image_name=repo(), additional_tags=["latest"], **auto_inputs)
    assert out["image"] == f"{out['image_name']}:{out['tag']}" and len(out["tag"]) == 12
    image = docker_client.images.get(out["image"])
    assert image.id == out["image_id"]
    assert f"{out['image_name']}:latest" in image.tags
    assert image.labels["org.deploytool.version"] and image.labels["org.deploytool.dockerfile"] == "auto"
    assert image.attrs["Config"]["WorkingDir"] == AUTO_PROJECT_DIR
    assert not (project / "Dockerfile").exists(), "nothing is written into the project"

    code, logs = run(
        docker_client, docker_janitor, out["image"], ["sh", "-c", "ls -A; python -c 'import deploytool.engine'"]
    )
    assert code == 0, logs
    assert logs.split() == [".dockerignore", "flows", "requirements.txt"], "the project, .dockerignore applied"
    # prefect.yaml files name Prefect's location of the project: /opt/prefect/<directory name>
    code, logs = run(docker_client, docker_janitor, out["image"], ["ls", "-A", f"/opt/prefect/{project.name}/"])
    assert code == 0 and logs.split() == [".dockerignore", "flows", "requirements.txt"], logs

    spec = RunSpec(
        run_id="r1",
        flow_name="greet",
        deployment_name="d",
        entrypoint="flows/greet.py:greet",
        parameters={"name": "docker"},
        pull_steps=[{"name": "set_working_directory", "id": None, "inputs": {"directory": AUTO_PROJECT_DIR}}],
    )
    code, logs = run(
        docker_client,
        docker_janitor,
        out["image"],
        ["python", "-m", "deploytool.engine"],
        environment=spec.to_env(),
        working_dir="/",
    )
    assert code == 0, logs
    assert "hello docker from six" in logs
    events = [
        json.loads(line.split("::", 2)[2]) for line in logs.splitlines() if line.startswith("::deploytool-event::")
    ]
    assert events[-1]["event"] == "completed"


def test_code_change_reuses_the_requirements_layer(
    ctx: StepContext, project: Path, auto_inputs: dict[str, Any], lines: Lines
) -> None:
    name = repo()
    first = build_docker_image(ctx, image_name=name, **auto_inputs)
    (project / "flows" / "greet.py").write_text(FLOW + "\n# changed\n")
    lines.lines.clear()
    second = build_docker_image(ctx, image_name=name, **auto_inputs)
    assert second["tag"] != first["tag"]
    output = [line for _, line in lines.lines]
    assert "requirements: using the cached wheelhouse" in "\n".join(output), "pip wheel is not run again"
    step = next(i for i, line in enumerate(output) if "--find-links=/tmp/deploytool-deps/wheels" in line)
    assert output[step + 1].strip() == "---> Using cache", output[step : step + 3]
    assert not any("Successfully installed six" in line for line in output)


def test_persisted_dockerfile_does_not_change_the_tag(
    ctx: StepContext, project: Path, auto_inputs: dict[str, Any]
) -> None:
    name = repo()
    first = build_docker_image(ctx, image_name=name, persist_dockerfile=True, **auto_inputs)
    written = (project / "Dockerfile.generated").read_text()
    assert f"FROM {auto_inputs['base_image']}" in written and f"WORKDIR {AUTO_PROJECT_DIR}" in written
    again = build_docker_image(ctx, image_name=name, **auto_inputs)
    assert again["tag"] == first["tag"] and again["image_id"] == first["image_id"]


USER_DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ARG GREETING=unset
COPY app.txt /app/app.txt
RUN echo "$GREETING" > /app/greeting
"""


@pytest.fixture
def user_project(workdir: Path, base_image: str) -> Path:
    (workdir / "docker").mkdir()
    (workdir / "docker" / "Dockerfile").write_text(USER_DOCKERFILE)
    (workdir / "app.txt").write_text("v1\n")
    return workdir


def test_user_dockerfile_buildargs_tag_stability_and_reuse(
    ctx: StepContext,
    user_project: Path,
    base_image: str,
    docker_labels: dict[str, str],
    docker_client: Any,
    docker_janitor: DockerJanitor,
    lines: Lines,
) -> None:
    name = repo()
    inputs = {"dockerfile": "docker/Dockerfile", "labels": {**docker_labels, "team": "data"}}
    args = {"BASE": base_image, "GREETING": "bonjour"}
    first = build_docker_image(ctx, image_name=name, buildargs=args, **inputs)
    code, logs = run(docker_client, docker_janitor, first["image"], ["cat", "/app/greeting", "/app/app.txt"])
    assert (code, logs.split()) == (0, ["bonjour", "v1"])
    assert docker_client.images.get(first["image"]).labels["team"] == "data"

    lines.lines.clear()
    second = build_docker_image(ctx, image_name=name, buildargs=args, **inputs)
    assert second == first, "an unchanged context gives the same tag and the same image"
    assert any(line.startswith(f"reusing {first['image']}") for _, line in lines.lines)
    assert not any("Step 1/" in line for _, line in lines.lines), "no build ran"

    other_args = build_docker_image(ctx, image_name=name, buildargs={**args, "GREETING": "hallo"}, **inputs)
    assert other_args["tag"] != first["tag"]
    (user_project / "app.txt").write_text("v2\n")
    changed = build_docker_image(ctx, image_name=name, buildargs=args, **inputs)
    assert changed["tag"] not in (first["tag"], other_args["tag"])
    assert changed["image_id"] != first["image_id"]

    forced = build_docker_image(ctx, image_name=name, buildargs=args, ignore_cache=True, tag="explicit", **inputs)
    assert forced["tag"] == "explicit" and forced["image_id"] == changed["image_id"], "layer cache, same image"


def test_dockerfile_outside_the_context(
    ctx: StepContext, workdir: Path, base_image: str, docker_labels: dict[str, str]
) -> None:
    (workdir / "Dockerfile").write_text(f"FROM {base_image}\nCOPY . /ctx/\n")
    (workdir / "ctx").mkdir()
    (workdir / "ctx" / "a.txt").write_text("a\n")
    out = build_docker_image(ctx, image_name=repo(), path="ctx", dockerfile="../Dockerfile", labels=docker_labels)
    assert out["image_id"].startswith("sha256:")


def test_bad_instruction_fails_with_the_tail(ctx: StepContext, workdir: Path, docker_labels: dict[str, str]) -> None:
    (workdir / "Dockerfile").write_text("FROM scratch\nFROOM nothing\n")
    with pytest.raises(StepError, match=r"docker build of .* failed: .*unknown instruction: FROOM"):
        build_docker_image(ctx, image_name=repo(), labels=docker_labels)


def test_failing_run_fails_with_the_tail_through_run_steps(
    workdir: Path, base_image: str, docker_labels: dict[str, str], lines: Lines
) -> None:
    (workdir / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo preparing && echo 'disk on fire' >&2 && exit 3\n")

    @dataclass
    class Call:
        inputs: dict[str, Any]
        name: str = "build_docker_image"
        written_name: str = "build_docker_image"
        id: str = "image"
        path: tuple[str | int, ...] = ("build", 0)

    with pytest.raises(StepError) as caught:
        run_steps(
            [Call({"image_name": repo(), "labels": docker_labels})],
            phase="build",
            cwd=workdir,
            render=lambda inputs, outputs, where: inputs,
            on_output=lines,
        )
    message = caught.value.message
    assert message.startswith("build step 1 of 1 (build_docker_image, id 'image') failed: docker build of")
    assert "returned a non-zero code: 3" in message
    assert "  | disk on fire" in message and "  | preparing" in message


def test_auto_says_when_dockerignore_leaves_no_project_file_in_the_image(
    ctx: StepContext, workdir: Path, auto_inputs: dict[str, Any], lines: Lines
) -> None:
    (workdir / "flow.py").write_text(FLOW)
    (workdir / ".dockerignore").write_text("*\n")
    build_docker_image(ctx, image_name=repo(), **auto_inputs)
    notes = [line for stream, line in lines.lines if stream == "stderr" and line.startswith("note: no file of")]
    assert len(notes) == 1 and "excludes them all" in notes[0] and "`!flows/`" in notes[0]
    (workdir / ".dockerignore").write_text("*\n!flow.py\n")
    build_docker_image(ctx, image_name=repo(), **auto_inputs)
    assert len([line for _, line in lines.lines if line.startswith("note: no file of")]) == 1


def test_missing_context_names_the_directory_and_where_it_is_resolved(ctx: StepContext, workdir: Path) -> None:
    with pytest.raises(StepError, match=r"build context .*nothere is not a directory") as caught:
        build_docker_image(ctx, image_name="x", path="nothere")
    assert caught.value.hint and "relative to the project file's directory" in caught.value.hint


def test_missing_dockerfile_and_bad_backend(ctx: StepContext, workdir: Path) -> None:
    with pytest.raises(StepError, match=r"Dockerfile .*nope does not exist"):
        build_docker_image(ctx, image_name="x", dockerfile="nope")
    with pytest.raises(StepError, match="build_backend 'buildx' is not supported"):
        build_docker_image(ctx, image_name="x", build_backend="buildx")
