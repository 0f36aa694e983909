"""`deploy --dry-run` has no side effects: no shell step runs, nothing is built or pushed, nothing is stored; it
says what each step would do, with the image tag a build would give (the context's content hash)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.cli_helpers import CLI, open_store
from tests.docker_support import DockerJanitor

FLOW = "from deploytool import flow\n\n\n@flow\ndef main():\n    pass\n"

PROJECT = """\
build:
  - run_shell_script:
      script: touch touched-by-build
  - build_docker_image:
      id: build-image
      image_name: {image}
      labels: {labels}
push:
  - push_docker_image:
      image_name: "{{{{ build-image.image_name }}}}"
      tag: "{{{{ build-image.tag }}}}"
deployments:
  - name: d
    entrypoint: flow.py:main
    work_pool:
      name: dock
      job_variables:
        image: "{{{{ build-image.image }}}}"
        env: {{BUILT_AS: "{{{{ build-image.image_id }}}}"}}
"""


def _project(tmp_path: Path, base_image: str, image: str, labels: dict[str, str], *, push: bool = True) -> Path:
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "Dockerfile").write_text(f"FROM {base_image}\nCOPY flow.py /app/flow.py\n")
    (tmp_path / ".dockerignore").write_text("*.yaml\ntouched-by-build\n")  # the context: Dockerfile and flow
    text = PROJECT.format(image=image, labels=labels)
    if not push:
        text = text[: text.index("push:")] + text[text.index("deployments:") :]
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    return path


@pytest.mark.docker
def test_a_dry_run_runs_no_step_builds_and_pushes_nothing_and_says_what_it_would_do(
    tmp_path: Path,
    base_image: str,
    docker_client: Any,
    docker_labels: dict[str, str],
    docker_janitor: DockerJanitor,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "dock", "--type", "docker").code == 0
    # a registry nobody listens on: a real push would fail, so a dry run that succeeds pushed nothing
    image = "127.0.0.1:1/deploytool-dry-run/img"
    path = _project(tmp_path, base_image, image, docker_labels)

    done = cli("deploy", "--file", str(path), "--dry-run")

    assert done.code == 0, done.err + done.out
    assert not (tmp_path / "touched-by-build").exists()
    assert docker_client.images.list(name=image) == []
    with open_store() as store:
        assert store.deployments.list() == []
    shown = done.out + done.err
    assert "dry run: build step 1 of 2 (run_shell_script): would run the script: 'touch touched-by-build'" in shown
    built = re.search(
        rf"would build {re.escape(image)}:([0-9a-f]{{12}}) \(no such image yet: it would be built\)", shown
    )
    assert built, shown
    tag = built.group(1)
    assert f"dry run: push step 1 of 1 (push_docker_image): would push {image}:{tag} to 127.0.0.1:1" in shown
    # the plan shows where an output known only after the build goes; the tag is known, so the image is not one
    assert "+ create    main/d\n    job_variables.env.BUILT_AS: <image_id from step build-image>\n" in done.out
    assert "Dry run, nothing written. Would be: 1 created." in shown

    # the tag it announced is the one a real build gives; after that build, a dry run says it would reuse it
    docker_janitor.image(f"{image}:{tag}")
    real = cli("deploy", "--file", str(_project(tmp_path, base_image, image, docker_labels, push=False)))
    (tmp_path / "touched-by-build").unlink()
    assert real.code == 0, real.err + real.out
    with open_store() as store:
        [stored] = store.deployments.list()
    assert stored.job_variables["image"] == f"{image}:{tag}"
    again = cli("deploy", "--file", str(_project(tmp_path, base_image, image, docker_labels)), "--dry-run")
    assert f"would build {image}:{tag} (reused: " in again.out + again.err
    assert not (tmp_path / "touched-by-build").exists()


AUTO = """\
build:
  - build_docker_image:
      id: build-image
      image_name: {image}
      dockerfile: auto
      base_image: {base_image}
      labels: {labels}
deployments:
  - name: d
    entrypoint: flow.py:main
    work_pool: {{name: dock, job_variables: {{image: "{{{{ build-image.image }}}}"}}}}
"""


@pytest.mark.docker
def test_a_dry_run_of_dockerfile_auto_computes_the_tag_a_build_gives_without_building(
    tmp_path: Path,
    base_image: str,
    docker_client: Any,
    docker_labels: dict[str, str],
    docker_janitor: DockerJanitor,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "dock", "--type", "docker").code == 0
    image = f"127.0.0.1:1/deploytool-dry-run/auto-{tmp_path.name[-12:].lower()}"
    (tmp_path / "flow.py").write_text(FLOW)
    path = tmp_path / "deploy.yaml"
    path.write_text(AUTO.format(image=image, base_image=base_image, labels=docker_labels))

    dry = cli("deploy", "--file", str(path), "--dry-run")
    assert dry.code == 0, dry.err + dry.out
    announced = re.search(
        rf"would build {re.escape(image)}:([0-9a-f]{{12}}) from a generated Dockerfile on {re.escape(base_image)} "
        r"\(no such image yet: it would be built\)",
        dry.out + dry.err,
    )
    assert announced, dry.out + dry.err
    tag = announced.group(1)
    assert docker_client.images.list(name=image) == []

    docker_janitor.image(f"{image}:{tag}")
    real = cli("deploy", "--file", str(path))
    assert real.code == 0, real.err + real.out
    with open_store() as store:
        [stored] = store.deployments.list()
    assert stored.job_variables["image"] == f"{image}:{tag}"  # the tag the dry run announced
    again = cli("deploy", "--file", str(path), "--dry-run")
    assert f"would build {image}:{tag} from a generated Dockerfile on {base_image} (reused: " in again.out + again.err


def test_a_dry_run_of_dockerfile_auto_with_requirements_not_yet_resolved_says_the_tag_is_not_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = CLI(capsys, monkeypatch)
    assert cli("work-pool", "create", "dock", "--type", "docker").code == 0
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "requirements.txt").write_text("some-package-nobody-downloads==1.0\n")
    path = tmp_path / "deploy.yaml"
    path.write_text(AUTO.format(image="reg.example/app", base_image="python:3.11-slim", labels={}))

    dry = cli("deploy", "--file", str(path), "--dry-run")

    assert dry.code == 0, dry.err + dry.out
    assert (
        "would build reg.example/app from a generated Dockerfile on python:3.11-slim, tagged with the content hash "
        "of its context, which is not known yet: it holds the wheels pip would build for requirements.txt"
    ) in dry.out + dry.err
    assert "+ create    main/d\n    job_variables.image: <image from step build-image>\n" in dry.out
    with open_store() as store:
        assert store.deployments.list() == []
