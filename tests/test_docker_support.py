"""The Docker and registry test infrastructure itself (tests/docker_support.py, .ci/build-base-image.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.docker_support import (
    REPO_ROOT,
    REQUIRE_ENV,
    TEST_LABEL,
    DockerJanitor,
    LocalRegistry,
    base_image_name,
    docker_required,
    make_tiny_image,
    remove_labelled,
)

if TYPE_CHECKING:
    import docker


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- (a) a container from the base image ----------------------------------------------------------------


@pytest.mark.docker
def test_base_image_runs_python_like_the_official_image(
    docker_client: docker.DockerClient, base_image: str, docker_labels: dict[str, str]
) -> None:
    script = (
        "import sys, sysconfig, pathlib, shutil; "
        "print('hello from', sys.version_info[:2]); "
        "print('pip', shutil.which('pip')); "
        "print('marker', pathlib.Path(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED').exists())"
    )
    out = docker_client.containers.run(base_image, ["python", "-c", script], labels=docker_labels, remove=True).decode()
    assert "hello from (3, 11)" in out
    assert "pip /usr/local/bin/pip" in out
    assert "marker False" in out
    # CMD is python3, as in the official image
    assert docker_client.images.get(base_image).attrs["Config"]["Cmd"] == ["python3"]


def test_base_image_name_comes_from_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYTOOL_TEST_BASE_IMAGE", raising=False)
    env_file = (REPO_ROOT / ".ci" / "base-image.env").read_text()
    assert f"\nDEPLOYTOOL_TEST_BASE_IMAGE={base_image_name()}\n" in env_file
    monkeypatch.setenv("DEPLOYTOOL_TEST_BASE_IMAGE", "elsewhere/python:x")
    assert base_image_name() == "elsewhere/python:x"


# --- (b) push to and pull from a local registry ---------------------------------------------------------


@pytest.mark.docker
@pytest.mark.registry
def test_push_base_image_to_registry_and_pull_it_back(
    docker_client: docker.DockerClient,
    base_image: str,
    shared_registry: LocalRegistry,
    docker_janitor: DockerJanitor,
) -> None:
    registry = shared_registry
    name = _unique("deploytool-test/python")
    repository = f"{registry.host}/{name}"
    ref = docker_janitor.image(f"{repository}:pushed")
    assert docker_client.images.get(base_image).tag(repository, "pushed")

    events = list(docker_client.images.push(repository, tag="pushed", stream=True, decode=True))
    errors = [e for e in events if "error" in e or "errorDetail" in e]
    assert not errors, errors
    assert registry.tags(name) == ["pushed"]
    assert name in registry.catalog()

    docker_client.images.remove(ref)
    with pytest.raises(Exception, match=r"No such image|not found"):
        docker_client.images.get(ref)

    pulled = docker_client.images.pull(repository, tag="pushed")
    assert ref in pulled.tags
    assert pulled.id == docker_client.images.get(base_image).id


# --- (c) a registry with auth ---------------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.registry
def test_auth_registry_refuses_anonymous_push_and_accepts_login(
    docker_client: docker.DockerClient,
    auth_registry: LocalRegistry,
    docker_janitor: DockerJanitor,
    docker_labels: dict[str, str],
) -> None:
    import docker

    repository = f"{auth_registry.host}/team/tiny"
    docker_janitor.image(make_tiny_image(docker_client, f"{repository}:1", labels=docker_labels))

    # The registry itself answers 401 without credentials, 200 with them.
    assert auth_registry.get("/v2/", auth=False)[0] == 401
    assert auth_registry.get("/v2/")[0] == 200

    # A client that never logged in (HOME is a temp dir: no ~/.docker/config.json) is refused.
    anonymous = docker.from_env()
    try:
        events = list(anonymous.images.push(repository, tag="1", stream=True, decode=True))
    finally:
        anonymous.close()
    errors = " ".join(str(e.get("error", "")) for e in events)
    assert "no basic auth credentials" in errors or "unauthorized" in errors.lower(), events

    # Wrong password: login fails.
    with pytest.raises(docker.errors.APIError):
        docker_client.login(username=auth_registry.username, password="wrong", registry=auth_registry.host)

    # With the right credentials the push goes through.
    events = list(
        docker_client.images.push(repository, tag="1", stream=True, decode=True, auth_config=auth_registry.auth_config)
    )
    assert not [e for e in events if "error" in e], events
    assert auth_registry.tags("team/tiny") == ["1"]

    # And so does a login, then a pull.
    docker_client.images.remove(f"{repository}:1")
    docker_client.login(username=auth_registry.username, password=auth_registry.password, registry=auth_registry.host)
    pulled = docker_client.images.pull(repository, tag="1", auth_config=auth_registry.auth_config)
    assert f"{repository}:1" in pulled.tags


@pytest.mark.registry
def test_registry_without_docker_answers_the_v2_api(registry: LocalRegistry) -> None:
    assert registry.get("/v2/") == (200, {})
    assert registry.catalog() == []


# --- cleanup helper ------------------------------------------------------------------------------------


@pytest.mark.docker
def test_remove_labelled_removes_only_labelled_things(
    docker_client: docker.DockerClient, base_image: str, docker_janitor: DockerJanitor
) -> None:
    mark = _unique("cleanup")
    labels = {TEST_LABEL: mark}
    container = docker_janitor.container(docker_client.containers.create(base_image, ["true"], labels=labels))
    image = docker_janitor.image(make_tiny_image(docker_client, f"deploytool-test/{mark}:1", labels=labels))

    remove_labelled(docker_client, {TEST_LABEL: mark})

    assert not docker_client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={mark}"})
    assert not any(image in i.tags for i in docker_client.images.list())
    with pytest.raises(Exception, match=r"No such container|not found"):
        docker_client.containers.get(container.id)
    docker_client.images.get(base_image)  # the base image carries another label and survives


# --- (d) skip without Docker, fail when Docker is required ----------------------------------------------


_PROBE_TESTS = """
import pytest

@pytest.mark.docker
def test_marked():
    pass

def test_uses_client(docker_client):
    pass

@pytest.mark.registry
def test_needs_registry():
    pass

def test_plain():
    pass
"""


def _run_probe(tmp_path: Path, *, require: bool, ci: bool = False) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(_PROBE_TESTS))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DEPLOYTOOL_")) and k != "CI"}
    if ci:
        env["CI"] = "true"
    env["DOCKER_HOST"] = f"unix://{tmp_path / 'dead.sock'}"  # nobody listens there
    env["PATH"] = str(tmp_path / "empty-path")  # no docker-registry binary either
    env["PYTHONPATH"] = str(REPO_ROOT)
    if require:
        env[REQUIRE_ENV] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.docker_support", "-p", "no:cacheprovider",
         "-p", "no:xdist", "-rsE", "-q", "--strict-markers", str(tmp_path / "test_probe.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip


def test_without_docker_docker_tests_are_skipped(tmp_path: Path) -> None:
    proc = _run_probe(tmp_path, require=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "1 passed, 3 skipped" in out, out
    assert "SKIPPED [2]" in out and "no Docker daemon answered (unix://" in out, out
    assert "dead.sock" in out
    assert "docker-registry binary not found" in out


def test_without_docker_docker_tests_fail_when_required(tmp_path: Path) -> None:
    proc = _run_probe(tmp_path, require=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 passed, 3 errors" in out, out
    assert f"{REQUIRE_ENV}=1 but no Docker daemon answered (unix://" in out, out
    assert f"{REQUIRE_ENV}=1 but docker-registry binary not found" in out


def test_without_docker_docker_tests_fail_in_ci(tmp_path: Path) -> None:
    """CI=true alone (what CI systems set) makes a missing daemon or registry a failure, as for every service."""
    proc = _run_probe(tmp_path, require=False, ci=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 passed, 3 errors" in out, out
    assert "CI=true but no Docker daemon answered (unix://" in out, out
    assert "CI=true but docker-registry binary not found" in out


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("yes", True), ("0", False), ("", False)])
def test_require_flag_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(REQUIRE_ENV, value)
    assert docker_required() is expected
