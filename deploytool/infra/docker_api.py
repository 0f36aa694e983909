"""What deploytool asks of the Docker SDK: a connection, the image by its pull policy, the container.

Every SDK error becomes an InfraError with the action that failed and a hint (`docker_errors`); registry
passwords are blanked out of messages. The SDK is imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from deploytool.errors import InfraError
from deploytool.infra.docker_config import ContainerPlan, split_image
from deploytool.redaction import Redactor

log = logging.getLogger(__name__)

CLIENT_TIMEOUT_SECONDS = 120  # per HTTP read; waits and log streams have none
NAME_ATTEMPTS = 10  # a taken name is retried as name-1, name-2, ...


def connect(version: str | None = None) -> Any:
    """A Docker client for the daemon the environment names (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)."""
    import docker

    with docker_errors("connecting to the Docker daemon"):
        return docker.from_env(timeout=CLIENT_TIMEOUT_SECONDS, version=version, max_pool_size=32)


def daemon_problem(client: Callable[[], Any]) -> str | None:
    """None when the daemon of `client()` answers a ping; else why not (a client that cannot be made included)."""
    try:
        with docker_errors("asking the Docker daemon"):
            client().ping()
    except InfraError as exc:
        return exc.message
    return None


def ensure_image(client: Any, plan: ContainerPlan) -> None:
    """Make the image available locally as the pull policy says. InfraError when it cannot be."""
    import docker.errors

    image = plan.image
    with docker_errors(f"looking up image {image}"):
        try:
            client.images.get(image)
            present = True
        except docker.errors.ImageNotFound:
            present = False
    if plan.pull_policy == "Never":
        if not present:
            raise InfraError(
                f"image {image} is not present locally and image_pull_policy is Never",
                hint="build or pull it on the Docker host first, or set image_pull_policy to IfNotPresent",
            )
        return
    if plan.pull_policy == "IfNotPresent" and present:
        return
    pull_image(client, plan, present)


def pull_image(client: Any, plan: ContainerPlan, present: bool = False) -> None:
    """Log in to the registry when credentials are given, then pull. The password never appears in a message."""
    import docker.errors

    image, creds = plan.image, plan.credentials
    secret = creds.password if creds else None
    auth = None
    if creds is not None:
        try:
            with docker_errors(f"logging in to registry {creds.registry_url} as {creds.username}", secret=secret):
                client.login(creds.username, creds.password, registry=creds.registry_url, reauth=creds.reauth)
        except InfraError as exc:
            raise InfraError(
                exc.message, hint="check registry_credentials (username, password, registry_url)"
            ) from None
        auth = {"username": creds.username, "password": creds.password}
    repository, tag = split_image(image)
    hint = "check the image name and tag, that the registry is reachable, and registry_credentials"
    if present:
        hint += "; to use the local copy set image_pull_policy to IfNotPresent"
    elif plan.pull_policy != "Never":
        hint += "; an image built on the Docker host only needs image_pull_policy Never"
    log.info("pulling image %s", image)
    try:
        with docker_errors(f"pulling image {image}", secret=secret):
            client.images.pull(repository, tag=tag, auth_config=auth)
    except InfraError as exc:
        if isinstance(exc.__cause__, docker.errors.NotFound):
            raise InfraError(f"image {image} was not found in its registry: {exc.message}", hint=hint) from None
        raise InfraError(exc.message, hint=hint) from None


def create_container(client: Any, plan: ContainerPlan) -> Any:
    import docker.errors

    for attempt in range(NAME_ATTEMPTS):
        name = plan.name if attempt == 0 else f"{plan.name}-{attempt}"
        try:
            with docker_errors(f"creating container {name}"):
                return client.containers.create(plan.image, name=name, **plan.create_kwargs)
        except InfraError as exc:
            cause = exc.__cause__
            if (
                isinstance(cause, docker.errors.APIError)
                and cause.status_code == 409
                and "already in use" in str(cause)
            ):
                continue
            raise
        except TypeError as exc:  # an unknown container_create_kwargs key: "run() got an unexpected keyword ..."
            unknown = re.search(r"unexpected keyword argument '([^']+)'", str(exc))
            reason = f"container_create_kwargs has an unknown key {unknown[1]!r}" if unknown else str(exc)
            raise InfraError(
                f"the container could not be created: {reason}",
                hint="container_create_kwargs takes the keyword arguments of the Docker SDK's containers.create()",
            ) from None
    raise InfraError(f"container names {plan.name} to {plan.name}-{NAME_ATTEMPTS - 1} are all taken")


@contextlib.contextmanager
def docker_errors(action: str, secret: str | None = None) -> Iterator[None]:
    """Turn what the Docker SDK raises into InfraError("<action> failed: <reason>"); the cause stays chained."""
    import docker.errors
    import requests.exceptions

    clean = Redactor([secret] if secret else [])

    try:
        yield
    except docker.errors.APIError as exc:
        reason = clean(str(exc.explanation or exc))
        hint = None
        if exc.status_code is not None and exc.status_code >= 500 and "connect" in reason.lower():
            hint = "the Docker daemon could not reach the registry or service named above"
        raise InfraError(f"{action} failed: {reason}", hint=hint) from exc
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        where = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
        raise InfraError(
            f"{action} failed: the Docker daemon at {where} did not answer: {clean(str(exc))}",
            hint="is dockerd running and may this user use it? DOCKER_HOST selects another daemon",
        ) from exc
