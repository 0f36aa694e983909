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
    work_pool: {{name: dock, job_variables: {{image: "{{{{ build-image.image }}}}"}}}}
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
