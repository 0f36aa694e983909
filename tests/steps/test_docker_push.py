"""push_docker_image against a real docker-registry on 127.0.0.1: push, pull back, credentials, failures."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from deploytool.errors import StepError
from deploytool.steps.base import StepContext
from deploytool.steps.docker_image import build_docker_image
from deploytool.steps.docker_push import push_docker_image
from deploytool.steps.run import run_steps
from tests.docker_support import DockerJanitor, LocalRegistry, make_tiny_image
from tests.steps.conftest import Lines


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tiny(docker_client: Any, janitor: DockerJanitor, labels: dict[str, str], host: str, *tags: str) -> str:
    repository = f"{host}/{unique('team/tiny')}"
    for tag in tags:
        janitor.image(make_tiny_image(docker_client, f"{repository}:{tag}", labels, content=repository.encode()))
    return repository


def test_build_then_push_then_pull_back(
    workdir: Path,
    base_image: str,
    docker_labels: dict[str, str],
    docker_client: Any,
    docker_janitor: DockerJanitor,
    shared_registry: LocalRegistry,
    lines: Lines,
) -> None:
    (workdir / "flow.py").write_text("print('hi')\n")
    repository = f"{shared_registry.host}/{unique('team/app')}"

    class Call:
        def __init__(self, name: str, inputs: dict[str, Any], step_id: str | None) -> None:
            self.name = self.written_name = name
            self.inputs, self.id, self.path = inputs, step_id, (name,)

    def render(inputs: dict[str, Any], outputs: Any, where: str) -> dict[str, Any]:
        # what `{{ image.image_name }}` / `{{ image.tag }}` render to
        return {
            k: (outputs["image"][v[1:]] if isinstance(v, str) and v.startswith("@") else v) for k, v in inputs.items()
        }

    build = Call(
        "build_docker_image",
        {"image_name": repository, "dockerfile": "auto", "base_image": base_image, "labels": docker_labels},
        "image",
    )
    push = Call(
        "push_docker_image", {"image_name": "@image_name", "tag": "@tag", "additional_tags": ["stable"]}, "pushed"
    )
    built = run_steps([build], phase="build", cwd=workdir, render=render, on_output=lines)
    docker_client.api.tag(built["image"]["image_id"], repository, "stable")
    outputs = run_steps([push], phase="push", cwd=workdir, render=render, on_output=lines, outputs=built)
    tag = built["image"]["tag"]
    assert outputs["pushed"] == {
        "image_name": repository,
        "tag": tag,
        "image": f"{repository}:{tag}",
        "additional_tags": ["stable"],
    }
    assert sorted(shared_registry.tags(repository.split("/", 1)[1])) == sorted([tag, "stable"])
    text = lines.text()
    assert f"pushing {repository}:{tag} to {shared_registry.host}" in text
    assert f"pushed {repository}:{tag} (sha256:" in text

    image_id = built["image"]["image_id"]
    docker_client.images.remove(image_id, force=True)
    pulled = docker_client.images.pull(repository, tag=tag)
    docker_janitor.image(f"{repository}:{tag}")
    assert pulled.id == image_id


def test_push_with_credentials(
    workdir: Path,
    docker_labels: dict[str, str],
    docker_client: Any,
    docker_janitor: DockerJanitor,
    auth_registry: LocalRegistry,
) -> None:
    repository = tiny(docker_client, docker_janitor, docker_labels, auth_registry.host, "1")
    lines = Lines()
    ctx = StepContext(cwd=workdir, on_output=lines)
    credentials = {
        "username": auth_registry.username,
        "password": auth_registry.password,
        "registry_url": auth_registry.url,
    }
    out = push_docker_image(ctx, image_name=repository, tag="1", credentials=credentials)
    assert out["image"] == f"{repository}:1"
    assert auth_registry.tags(repository.split("/", 1)[1]) == ["1"]
    assert auth_registry.password and auth_registry.password not in lines.text()


def test_push_without_or_with_wrong_credentials_names_the_registry_never_the_password(
    workdir: Path,
    docker_labels: dict[str, str],
    docker_client: Any,
    docker_janitor: DockerJanitor,
    auth_registry: LocalRegistry,
) -> None:
    repository = tiny(docker_client, docker_janitor, docker_labels, auth_registry.host, "1")
    ctx = StepContext(cwd=workdir)
    with pytest.raises(StepError) as caught:
        push_docker_image(ctx, image_name=repository, tag="1")
    assert f"push of {repository}:1 to {auth_registry.host} failed" in caught.value.message
    assert caught.value.hint and "give `credentials`" in caught.value.hint

    wrong = f"not-{auth_registry.password}"
    lines = Lines()
    ctx = StepContext(cwd=workdir, on_output=lines)
    with pytest.raises(StepError) as caught:
        push_docker_image(
            ctx, image_name=repository, tag="1", credentials={"username": "deploytool", "password": wrong}
        )
    assert auth_registry.host in caught.value.message
    for text in (str(caught.value), lines.text()):
        assert wrong not in text and str(auth_registry.password) not in text
    assert auth_registry.tags(repository.split("/", 1)[1]) == []


@pytest.mark.docker  # the push asks the Docker daemon, which must answer that the image is missing
def test_push_of_a_missing_image(workdir: Path, registry: LocalRegistry) -> None:
    ctx = StepContext(cwd=workdir)
    with pytest.raises(StepError) as caught:
        push_docker_image(ctx, image_name=f"{registry.host}/{unique('nothing/here')}", tag="1")
    assert registry.host in caught.value.message
    assert caught.value.hint and "build it first" in caught.value.hint


def test_push_to_a_registry_that_is_down_says_so(
    workdir: Path, docker_labels: dict[str, str], docker_client: Any, docker_janitor: DockerJanitor
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{probe.getsockname()[1]}"
    repository = tiny(docker_client, docker_janitor, docker_labels, host, "1")
    with pytest.raises(StepError) as caught:
        push_docker_image(StepContext(cwd=workdir), image_name=repository, tag="1")
    assert f"push of {repository}:1 to {host} failed" in caught.value.message
    assert caught.value.hint and f"is the registry {host} running" in caught.value.hint


def test_push_of_an_unbuilt_additional_tag_fails_after_the_first(
    workdir: Path,
    docker_labels: dict[str, str],
    docker_client: Any,
    docker_janitor: DockerJanitor,
    registry: LocalRegistry,
) -> None:
    repository = tiny(docker_client, docker_janitor, docker_labels, registry.host, "1")
    ctx = StepContext(cwd=workdir)
    with pytest.raises(StepError, match=rf"push of {repository}:missing to {registry.host} failed"):
        push_docker_image(ctx, image_name=repository, tag="1", additional_tags=["missing"])
    assert registry.tags(repository.split("/", 1)[1]) == ["1"]


def test_build_tags_additional_tags(
    workdir: Path, base_image: str, docker_labels: dict[str, str], docker_client: Any
) -> None:
    (workdir / "Dockerfile").write_text(f"FROM {base_image}\n")
    ctx = StepContext(cwd=workdir)
    out = build_docker_image(
        ctx, image_name=unique("deploytool-test/tags"), additional_tags=["a", "b"], labels=docker_labels
    )
    tags = docker_client.images.get(out["image_id"]).tags
    assert {f"{out['image_name']}:{t}" for t in (out["tag"], "a", "b")} <= set(tags)
