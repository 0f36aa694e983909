"""Pytest plugin for tests that need a real Docker daemon or a real registry.

Load it from tests/conftest.py with ``pytest_plugins = ["tests.docker_support"]``.

Markers (declared in pyproject.toml, and here too so the plugin works on its own):

- ``docker``: needs a Docker daemon. ``docker.from_env().ping()`` is tried once per session (per xdist worker).
- ``registry``: needs the ``docker-registry`` binary (Debian package ``docker-registry``).

When the thing is missing the test is SKIPPED, unless ``DEPLOYTOOL_REQUIRE_DOCKER=1`` (set by ``.ci/run``) or
``CI=true`` (the rule of tests/services.py for every outside service), in which case it ERRORS at setup with
the reason. Tests that use the fixtures below get the matching marker
automatically, so ``-m "not docker"`` deselects them too.

Fixtures:

- ``docker_client`` (session): a docker SDK client. At the end of the session, containers and images carrying
  this session's label (see ``docker_labels``) are removed.
- ``docker_labels`` (session): labels to put on every container and image a test creates (a test that uses
  them needs Docker, and gets the marker).
- ``docker_janitor`` (function): removes the containers and image tags a test registers with it.
- ``base_image`` (session): name of the local Python base image (``$DEPLOYTOOL_TEST_BASE_IMAGE``, default
  from ``.ci/base-image.env``); built with ``.ci/build-base-image.sh`` when missing (the script holds a file
  lock, so parallel workers build it once).
- ``registry`` (function): a fresh ``docker-registry`` on ``127.0.0.1:<free port>``, no auth, storage in a
  temp dir. Docker allows plain http to 127.0.0.0/8, so ``docker push 127.0.0.1:PORT/x`` works.
- ``shared_registry`` (session): one such registry for the whole session (per xdist worker): pushes of
  images built on the base image then upload only their new layers. Use unique repository names.
- ``auth_registry`` (function): the same with htpasswd auth; ``.username`` and ``.password`` are set.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import warnings
from base64 import b64encode
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tests import services

if TYPE_CHECKING:
    import docker

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE_ENV_FILE = REPO_ROOT / ".ci" / "base-image.env"
BUILD_BASE_IMAGE_SCRIPT = REPO_ROOT / ".ci" / "build-base-image.sh"

REQUIRE_ENV = "DEPLOYTOOL_REQUIRE_DOCKER"
BASE_IMAGE_ENV = "DEPLOYTOOL_TEST_BASE_IMAGE"
# Every container/image a test creates should carry TEST_LABEL (any value) and SESSION_LABEL (this session).
TEST_LABEL = "org.deploytool.test"
SESSION_LABEL = "org.deploytool.test.session"
SESSION_ID = uuid.uuid4().hex[:12]

PING_TIMEOUT_S = 5
CLIENT_TIMEOUT_S = 300
REGISTRY_START_TIMEOUT_S = 15

# docker_labels too: a test asks for them to put them on the containers or images it makes.
DOCKER_FIXTURES = frozenset({"docker_client", "base_image", "docker_janitor", "docker_labels"})
REGISTRY_FIXTURES = frozenset({"registry", "shared_registry", "auth_registry"})


# --- the skip-or-fail rule -------------------------------------------------------------------------------


def docker_required() -> bool:
    """True when Docker tests must run (CI=true, or DEPLOYTOOL_REQUIRE_DOCKER=1): missing pieces are errors."""
    return services.required(REQUIRE_ENV)


def unavailable(reason: str) -> NoReturn:
    """Skip the current test with ``reason``, or fail it when Docker is required (see `docker_required`)."""
    services.missing(reason, REQUIRE_ENV)


@functools.cache
def docker_status() -> tuple[bool, str]:
    """(answers, reason) for the Docker daemon named by the environment; asked once per process."""
    where = os.environ.get("DOCKER_HOST", "the default socket")
    try:
        import docker  # heavy: imported only when a Docker test runs

        client = docker.from_env(timeout=PING_TIMEOUT_S)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        if len(detail) > 240:
            detail = detail[:240] + "..."
        return False, f"no Docker daemon answered ({where}: {detail})"
    return True, f"Docker daemon at {where}"


def registry_binary() -> str | None:
    return shutil.which("docker-registry")


def require_docker() -> None:
    ok, reason = docker_status()
    if not ok:
        unavailable(reason)


def require_registry() -> str:
    binary = registry_binary()
    if binary is None:
        unavailable("docker-registry binary not found on PATH (Debian package docker-registry)")
    return binary


# --- hooks -----------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"docker: needs a Docker daemon (fails instead of skipping when {REQUIRE_ENV}=1)"
    )
    config.addinivalue_line("markers", "registry: needs a local Docker registry on 127.0.0.1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the Docker or registry fixtures get the marker, so that -m selects them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & DOCKER_FIXTURES and item.get_closest_marker("docker") is None:
            item.add_marker(pytest.mark.docker)
        if names & REGISTRY_FIXTURES and item.get_closest_marker("registry") is None:
            item.add_marker(pytest.mark.registry)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        require_docker()
    if item.get_closest_marker("registry") is not None:
        require_registry()


# --- Docker client, labels, cleanup ----------------------------------------------------------------------


def remove_labelled(client: docker.DockerClient, labels: Mapping[str, str | None] | None = None) -> None:
    """Remove every container, then every image, carrying all of ``labels`` (default: any test's label).

    A label value of None matches the key with any value. Errors are ignored: this is cleanup.
    """
    labels = {TEST_LABEL: None} if labels is None else labels
    filters = {"label": [key if value is None else f"{key}={value}" for key, value in labels.items()]}
    for container in client.containers.list(all=True, filters=filters):
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)
    for image in client.images.list(filters=filters):
        with contextlib.suppress(Exception):
            client.images.remove(image.id, force=True)


@pytest.fixture(scope="session")
def docker_labels() -> dict[str, str]:
    """Put these on every container and image a test creates; the session removes them at its end."""
    return {TEST_LABEL: "1", SESSION_LABEL: SESSION_ID}


@pytest.fixture(scope="session")
def docker_client(docker_labels: dict[str, str]) -> Iterator[docker.DockerClient]:
    require_docker()
    import docker

    client = docker.from_env(timeout=CLIENT_TIMEOUT_S)
    try:
        yield client
    finally:
        remove_labelled(client, {SESSION_LABEL: docker_labels[SESSION_LABEL]})
        client.close()


@dataclass
class DockerJanitor:
    """Collects what a test made in Docker and removes it at teardown (containers first, then image tags)."""

    client: docker.DockerClient
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def container(self, container_or_id: Any) -> Any:
        self.containers.append(getattr(container_or_id, "id", container_or_id))
        return container_or_id

    def image(self, ref: str) -> str:
        self.images.append(ref)
        return ref

    def clean(self) -> None:
        import docker

        for cid in reversed(self.containers):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                self.client.containers.get(cid).remove(force=True, v=True)
        for ref in reversed(self.images):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                self.client.images.remove(ref, force=True)
        self.containers.clear()
        self.images.clear()


@pytest.fixture
def docker_janitor(docker_client: docker.DockerClient) -> Iterator[DockerJanitor]:
    janitor = DockerJanitor(docker_client)
    try:
        yield janitor
    finally:
        janitor.clean()


# --- the Python base image -------------------------------------------------------------------------------


def base_image_name() -> str:
    """$DEPLOYTOOL_TEST_BASE_IMAGE, else the name in .ci/base-image.env."""
    name = os.environ.get(BASE_IMAGE_ENV, "").strip()
    if name:
        return name
    for line in BASE_IMAGE_ENV_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == BASE_IMAGE_ENV:
            return value.strip().strip("'\"")
    raise RuntimeError(f"{BASE_IMAGE_ENV} is not set in {BASE_IMAGE_ENV_FILE}")


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """The local Python base image's name; built once (under a file lock) when it is missing."""
    import docker

    name = base_image_name()
    try:
        docker_client.images.get(name)
        return name
    except docker.errors.ImageNotFound:
        pass
    if shutil.which("debootstrap") is None:
        unavailable(f"base image {name} is missing and debootstrap is not installed to build it")
    env = {**os.environ, BASE_IMAGE_ENV: name}
    proc = subprocess.run(
        ["bash", str(BUILD_BASE_IMAGE_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=20 * 60,
        check=False,
    )
    if proc.returncode != 0:
        unavailable(f"building base image {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return name


def make_tiny_image(
    client: docker.DockerClient, ref: str, labels: Mapping[str, str] | None = None, content: bytes = b"hi\n"
) -> str:
    """Import a one-file image (not runnable, a few bytes) as ``ref``: quick to push and pull."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    changes = [f"LABEL {key}={value}" for key, value in (labels or {}).items()]
    client.api.import_image_from_data(buf.getvalue(), repository=repository, tag=tag, changes=changes)
    return ref


# --- registries ------------------------------------------------------------------------------------------


@dataclass
class LocalRegistry:
    """A running ``docker-registry serve`` on loopback."""

    host: str  # "127.0.0.1:PORT": the prefix of image references, e.g. f"{host}/team/app:1"
    root: Path  # storage directory
    log_path: Path
    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def auth_config(self) -> dict[str, str] | None:
        """For docker SDK calls: ``client.images.push(repo, auth_config=registry.auth_config)``."""
        if self.username is None or self.password is None:
            return None
        return {"username": self.username, "password": self.password}

    def get(self, path: str, *, auth: bool = True) -> tuple[int, Any]:
        """GET ``/v2/...`` on the registry: (status, parsed JSON body or None)."""
        request = urllib.request.Request(self.url + path)
        if auth and self.username is not None and self.password is not None:
            token = b64encode(f"{self.username}:{self.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            body, status = exc.read(), exc.code
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, None

    def catalog(self) -> list[str]:
        status, body = self.get("/v2/_catalog")
        assert status == 200, f"GET /v2/_catalog answered {status}: {body}"
        return list(body.get("repositories") or [])

    def tags(self, repository: str) -> list[str]:
        status, body = self.get(f"/v2/{repository}/tags/list")
        if status == 404:
            return []
        assert status == 200, f"GET /v2/{repository}/tags/list answered {status}: {body}"
        return list(body.get("tags") or [])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd line (the only hash docker-registry accepts), or skip/fail if none can be made."""
    htpasswd = shutil.which("htpasswd")
    if htpasswd is not None:
        proc = subprocess.run([htpasswd, "-Bbn", username, password], capture_output=True, text=True, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    with contextlib.suppress(ImportError):
        import bcrypt  # type: ignore[import-not-found]

        return f"{username}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}"
    with warnings.catch_warnings(), contextlib.suppress(ImportError, AttributeError, OSError):
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # stdlib until 3.13; glibc's libcrypt does bcrypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
        if hashed and hashed.startswith("$2"):
            return f"{username}:{hashed}"
    unavailable("cannot make a bcrypt htpasswd line: install apache2-utils (htpasswd)")


@contextlib.contextmanager
def start_registry(workdir: Path, *, auth: tuple[str, str] | None = None) -> Iterator[LocalRegistry]:
    """Run ``docker-registry serve`` on 127.0.0.1:<free port> with a config of its own; stop it on exit."""
    import yaml

    binary = require_registry()
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "storage"
    root.mkdir(exist_ok=True)
    log_path = workdir / "registry.log"
    last_error = ""
    for _attempt in range(3):  # a free port can be taken by someone else before the registry binds it
        port = _free_port()
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(root)}, "delete": {"enabled": True}},
            "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
        }
        if auth is not None:
            htpasswd_path = workdir / "htpasswd"
            htpasswd_path.write_text(htpasswd_line(*auth) + "\n")
            config["auth"] = {"htpasswd": {"realm": "deploytool-test", "path": str(htpasswd_path)}}
        config_path = workdir / "config.yml"
        config_path.write_text(yaml.safe_dump(config))
        registry = LocalRegistry(
            host=f"127.0.0.1:{port}",
            root=root,
            log_path=log_path,
            username=auth[0] if auth else None,
            password=auth[1] if auth else None,
        )
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [binary, "serve", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + REGISTRY_START_TIMEOUT_S
            ready = False
            while time.monotonic() < deadline and proc.poll() is None:
                with contextlib.suppress(OSError):
                    status, _ = registry.get("/v2/", auth=False)
                    if status in (200, 401):
                        ready = True
                        break
                time.sleep(0.05)
            if ready:
                yield registry
                return
            last_error = log_path.read_text(errors="replace")[-2000:]
            if proc.poll() is None:
                raise RuntimeError(
                    f"docker-registry on {registry.host} did not answer within "
                    f"{REGISTRY_START_TIMEOUT_S} s:\n{last_error}"
                )
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
    raise RuntimeError(f"docker-registry did not start (3 attempts):\n{last_error}")


@pytest.fixture
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A fresh registry without auth on 127.0.0.1:<free port>."""
    with start_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="session")
def shared_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """One registry without auth for the whole session (per xdist worker).

    Pushing an image built on the base image to a fresh registry uploads the base layers (~25 s); to a
    registry that already holds them, only the new layers. Use unique repository names per test.
    """
    with start_registry(tmp_path_factory.mktemp("shared-registry")) as reg:
        yield reg


@pytest.fixture
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A fresh registry with htpasswd auth; credentials in ``.username`` / ``.password``."""
    credentials = ("deploytool", secrets.token_urlsafe(12))
    with start_registry(tmp_path_factory.mktemp("auth-registry"), auth=credentials) as reg:
        yield reg
