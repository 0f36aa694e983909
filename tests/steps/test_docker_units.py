"""The Docker steps' parts that need no daemon: names, the context hash, the auto Dockerfile, the stream parser."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.docker_context import context_files, dockerignore_patterns, stage_context
from deploytool.steps.docker_image import image_reference, registry_of
from deploytool.steps.docker_progress import DockerStream
from deploytool.steps.docker_push import push_docker_image
from deploytool.steps.dockerfile import AUTO_PROJECT_DIR, default_base_image, deploytool_wheel, render_dockerfile
from tests.steps.conftest import Lines


def digest(root: Path, **inputs: object) -> str:
    files = context_files(root, dockerignore_patterns(root), "Dockerfile")
    staged = stage_context(root, files, inputs=dict(inputs))
    staged.file.close()
    return staged.digest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "flow.py").write_text("print('v1')\n")
    (root / "pkg" / "mod.py").write_text("X = 1\n")
    (root / ".dockerignore").write_text("# comment\nscratch/\n*.log\n")
    return root


def test_image_name_checks(ctx: StepContext, monkeypatch: pytest.MonkeyPatch) -> None:
    assert image_reference(ctx, "team/app", None) == ("team/app", None)
    assert image_reference(ctx, "127.0.0.1:5000/app:v1", None) == ("127.0.0.1:5000/app", "v1")
    with pytest.raises(StepError, match="whitespace"):
        image_reference(ctx, "my app", None)
    with pytest.raises(StepError, match="lower case"):
        image_reference(ctx, "Team/App", None)
    with pytest.raises(StepError, match="has the tag 'v1' but input tag is 'v2'"):
        image_reference(ctx, "app:v1", "v2")
    with pytest.raises(StepError, match="not a valid Docker tag"):
        image_reference(ctx, "app", "-bad")
    monkeypatch.setenv("DEPLOYTOOL_DEFAULT_DOCKER_BUILD_NAMESPACE", "registry.example.com/team")
    assert image_reference(ctx, "app", "1") == ("registry.example.com/team/app", "1")
    assert image_reference(ctx, "other/app", "1") == ("other/app", "1")


def test_registry_of() -> None:
    assert registry_of("app") == "docker.io"
    assert registry_of("team/app") == "docker.io"
    assert registry_of("127.0.0.1:5000/app") == "127.0.0.1:5000"
    assert registry_of("ghcr.io/org/app") == "ghcr.io"
    assert registry_of("localhost/app") == "localhost"


def test_context_hash_is_stable_and_follows_content(project: Path) -> None:
    first = digest(project)
    assert digest(project) == first
    (project / "app.log").write_text("ignored by .dockerignore\n")
    (project / "scratch").mkdir()
    (project / "scratch" / "big.bin").write_bytes(b"\0" * 1000)
    assert digest(project) == first, "files excluded by .dockerignore do not change the hash"
    (project / "pkg" / "mod.py").write_text("X = 2\n")
    changed = digest(project)
    assert changed != first
    (project / "pkg" / "mod.py").chmod(0o755)
    assert digest(project) != changed, "the executable bit is part of the content"
    assert digest(project, buildargs={"A": "1"}) != digest(project, buildargs={"A": "2"})


def test_context_hash_ignores_mtime(project: Path) -> None:
    import os

    first = digest(project)
    os.utime(project / "flow.py", (1, 1))
    assert digest(project) == first


def test_auto_dockerfile_layer_order() -> None:
    text = render_dockerfile("python:3.11-slim", wheel_name="deploytool-0.1.0-py3-none-any.whl", has_requirements=True)
    lines = text.splitlines()
    keys = ("FROM ", "COPY deps/", "COPY dist/", "COPY project/")
    index = [next(i for i, line in enumerate(lines) if line.startswith(key)) for key in keys]
    assert index == sorted(index), "base, then requirements, then deploytool, then the project"
    assert f"WORKDIR {AUTO_PROJECT_DIR}" in lines
    assert "--no-index" in text and "--no-deps" in text
    plain = render_dockerfile("python:3.11-slim", wheel_name="w.whl", has_requirements=False)
    assert "COPY deps/" not in plain and "-r /tmp" not in plain


def test_default_base_image(monkeypatch: pytest.MonkeyPatch) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert default_base_image({}) == f"python:{version}-slim"
    assert default_base_image({"DEPLOYTOOL_BASE_IMAGE": "mine/python:3"}) == "mine/python:3"


def test_deploytool_wheel_is_deterministic_and_installs_a_working_engine(tmp_path: Path) -> None:
    wheel = deploytool_wheel()
    assert wheel.data == deploytool_wheel().data
    with zipfile.ZipFile(__import__("io").BytesIO(wheel.data)) as archive:
        names = archive.namelist()
    assert "deploytool/engine/__main__.py" in names
    assert "deploytool/schemas/deploy.schema.json" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    path = tmp_path / wheel.name
    path.write_bytes(wheel.data)
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--target", str(target), str(path)]
    subprocess.run([*pip, "--disable-pip-version-check", "-q"], check=True, capture_output=True)
    # -I: isolated from the venv's editable install; only the stdlib and the target dir.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import deploytool.engine, deploytool; print(deploytool.__file__)"
    )
    out = subprocess.run([sys.executable, "-I", "-c", probe, str(target)], check=True, capture_output=True, text=True)
    assert out.stdout.startswith(str(target))


def test_build_stream_lines_error_and_image_id(ctx: StepContext, lines: Lines) -> None:
    stream = DockerStream(ctx, "build", "app:1")
    for event in [
        {"stream": "Step 1/2 : FROM x\n ---> abc"},
        {"stream": "\n"},
        {"aux": {"ID": "sha256:feed"}},
        {"stream": "Step 2/2 : RUN false\n"},
        {"errorDetail": {"message": "returned a non-zero code: 1"}, "error": "returned a non-zero code: 1"},
    ]:
        stream.feed(event)
    stream.finish()
    assert [line for _, line in lines.lines] == [
        "Step 1/2 : FROM x",
        " ---> abc",
        "Step 2/2 : RUN false",
        "returned a non-zero code: 1",
    ]
    assert stream.image_id == "sha256:feed"
    assert stream.error == "returned a non-zero code: 1"


def test_push_stream_shows_each_layer_state_once(workdir: Path) -> None:
    plain = Lines()
    rich = Lines()
    rich.wants_progress = True  # type: ignore[attr-defined]
    events = [
        {"status": "The push refers to repository [127.0.0.1:5000/app]"},
        {"status": "Preparing", "progressDetail": {}, "id": "l1"},
        *[{"status": "Pushing", "progressDetail": {"current": n, "total": 300}, "id": "l1"} for n in (100, 200)],
        {"status": "Pushed", "progressDetail": {}, "id": "l1"},
        {"status": "1: digest: sha256:abc size: 5"},
        {"aux": {"Tag": "1", "Digest": "sha256:abc", "Size": 5}},
    ]
    for sink in (plain, rich):
        stream = DockerStream(StepContext(cwd=workdir, on_output=sink), "push", "app:1")
        for event in events:
            stream.feed(event)
        assert stream.digest == "sha256:abc"
    shown = [line for stream_name, line in plain.lines]
    assert shown == [
        "The push refers to repository [127.0.0.1:5000/app]",
        "l1: Preparing",
        "l1: Pushing",
        "l1: Pushed",
        "1: digest: sha256:abc size: 5",
    ]
    assert all(name != "progress" for name, _ in plain.lines)
    progress = [json.loads(line) for name, line in rich.lines if name == "progress"]
    assert {
        "action": "push",
        "ref": "app:1",
        "layer": "l1",
        "status": "Pushing",
        "current": 200,
        "total": 300,
    } in progress
    assert [line for name, line in rich.lines if name != "progress"] == shown


def test_push_input_errors_before_any_docker_call(ctx: StepContext) -> None:
    with pytest.raises(StepError, match="needs a tag"):
        push_docker_image(ctx, image_name="app")
    with pytest.raises(StepError, match="credentials must be a mapping"):
        push_docker_image(ctx, image_name="app", tag="1", credentials="user:pw")
    with pytest.raises(StepError, match="both a username and a password"):
        push_docker_image(ctx, image_name="app", tag="1", credentials={"username": "u"})
